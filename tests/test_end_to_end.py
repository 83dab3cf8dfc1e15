"""The whole sequence as the operator runs it, each step a process, against the real service:
everything lands, and nothing is doubled.

An import interrupted half way (the service stopped, a Ctrl-C) is in test_drops.py; every
script's --help in test_contract.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from demo.sample_drop import FRUITS
from tests.helpers import catalog_fruits, media_files, run_pipeline, run_script


def test_the_drop_reaches_the_catalog_and_running_everything_again_adds_nothing(
    drop: Path, catalog
) -> None:
    assert run_pipeline(drop, catalog.url) == [0, 0, 0]
    fruits = catalog_fruits(catalog)
    assert [(f["image_name"], f["name"], f["weight"]) for f in fruits] == [
        (f"{number:03d}.jpeg", fruit.name, fruit.weight)
        for number, fruit in enumerate(FRUITS, start=1)
    ]
    assert media_files(catalog) == sorted(f["image_name"] for f in fruits)
    page = requests.get(f"{catalog.url}/", timeout=10).text
    for fruit in FRUITS:
        assert f"Weight: {fruit.weight} lbs" in page
        assert fruit.name in page
    assert page.count('src="/media/images/') == 10

    images = media_files(catalog)
    assert run_pipeline(drop, catalog.url) == [0, 0, 0]
    assert (catalog_fruits(catalog), media_files(catalog)) == (fruits, images)


@pytest.mark.parametrize("jobs", ["1", "4"])
def test_the_number_of_jobs_changes_nothing_in_the_catalog(drop: Path, catalog, jobs: str):
    env = {"SUPPLIER_DATA_DIR": str(drop), "CATALOG_URL": catalog.url}
    assert run_script("changeImage.py", env=env).returncode == 0
    for step in ("supplier_image_upload.py", "run.py"):
        assert run_script(step, "--jobs", jobs, env=env).returncode == 0
    fruits = catalog_fruits(catalog)
    assert sorted(f["image_name"] for f in fruits) == media_files(catalog)
    assert [f["name"] for f in fruits] == [fruit.name for fruit in FRUITS]
