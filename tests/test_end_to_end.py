"""The whole sequence as the operator runs it, against the real service: nothing lost or doubled."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

import run
import supplier_image_upload
from automation.catalog import Catalog
from demo.processes import start_catalog
from demo.sample_drop import FRUITS
from tests.helpers import catalog_fruits, media_files, run_script

STEPS = ("changeImage.py", "supplier_image_upload.py", "run.py")


def run_pipeline(drop: Path, url: str) -> list[int]:
    """Run the three import steps in order, as processes; return their exit codes."""
    env = {"SUPPLIER_DATA_DIR": str(drop), "CATALOG_URL": url}
    return [run_script(step, env=env).returncode for step in STEPS]


def test_the_drop_reaches_the_catalog(drop: Path, catalog) -> None:
    assert run_pipeline(drop, catalog.url) == [0, 0, 0]
    fruits = catalog_fruits(catalog)
    assert sorted((f["image_name"], f["name"], f["weight"]) for f in fruits) == [
        (f"{number:03d}.jpeg", fruit.name, fruit.weight)
        for number, fruit in enumerate(FRUITS, start=1)
    ]
    assert media_files(catalog) == sorted(f["image_name"] for f in fruits)
    page = requests.get(f"{catalog.url}/", timeout=10).text
    for fruit in FRUITS:
        assert f"Weight: {fruit.weight} lbs" in page
        assert fruit.name in page
    assert page.count('src="/media/images/') == 10


def test_running_everything_again_adds_nothing(drop: Path, catalog) -> None:
    assert run_pipeline(drop, catalog.url) == [0, 0, 0]
    before = (catalog_fruits(catalog), media_files(catalog))
    assert run_pipeline(drop, catalog.url) == [0, 0, 0]
    assert (catalog_fruits(catalog), media_files(catalog)) == before


def test_every_script_answers_help() -> None:
    for script in (*STEPS,):
        result = run_script(script, "--help")
        assert result.returncode == 0, result.stderr
        assert "SUPPLIER_DATA_DIR" in result.stdout


def test_the_service_going_down_half_way_loses_nothing_and_duplicates_nothing(
    drop: Path, catalog, monkeypatch, tmp_path: Path
) -> None:
    """The service is really stopped after four uploads; the re-run sends exactly the rest."""
    assert run_script("changeImage.py", "--data-dir", str(drop)).returncode == 0
    real_upload = Catalog.upload_image
    calls = []

    def upload_then_fall_over(self, name, data):
        calls.append(name)
        if len(calls) == 5:
            catalog.stop()
        return real_upload(self, name, data)

    monkeypatch.setattr(Catalog, "upload_image", upload_then_fall_over)
    flags = ["--data-dir", str(drop), "--url", catalog.url, "--jobs", "1", "--retries", "1"]
    assert supplier_image_upload.main(flags) == 2
    assert len(media_files(catalog)) == 4
    monkeypatch.setattr(Catalog, "upload_image", real_upload)

    restarted = start_catalog(Path(catalog.log).parent, port=catalog.port)
    try:
        assert supplier_image_upload.main(flags) == 0
        assert media_files(restarted) == [f"{n:03d}.jpeg" for n in range(1, 11)]
        assert run.main(flags) == 0
        assert len(catalog_fruits(restarted)) == 10
    finally:
        restarted.stop()


def test_ctrl_c_half_way_loses_nothing_and_duplicates_nothing(drop: Path, catalog, monkeypatch):
    """An operator's Ctrl-C during run.py; the next run posts exactly what is missing."""
    env = {"SUPPLIER_DATA_DIR": str(drop), "CATALOG_URL": catalog.url}
    for step in STEPS[:2]:
        assert run_script(step, env=env).returncode == 0
    real_post = Catalog.post_fruit
    calls = []

    def post_then_interrupt(self, fruit):
        calls.append(fruit["name"])
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real_post(self, fruit)

    monkeypatch.setattr(Catalog, "post_fruit", post_then_interrupt)
    flags = ["--data-dir", str(drop), "--url", catalog.url, "--jobs", "1"]
    assert run.main(flags) == 2
    assert len(catalog_fruits(catalog)) == 3
    monkeypatch.setattr(Catalog, "post_fruit", real_post)
    assert run.main(flags) == 0
    names = [f["name"] for f in catalog_fruits(catalog)]
    assert sorted(names) == sorted(f.name for f in FRUITS)


@pytest.mark.parametrize("jobs", ["1", "4"])
def test_the_number_of_jobs_changes_nothing_in_the_catalog(drop: Path, catalog, jobs: str):
    env = {"SUPPLIER_DATA_DIR": str(drop), "CATALOG_URL": catalog.url}
    assert run_script("changeImage.py", env=env).returncode == 0
    for step in STEPS[1:]:
        assert run_script(step, "--jobs", jobs, env=env).returncode == 0
    fruits = catalog_fruits(catalog)
    assert sorted(f["image_name"] for f in fruits) == media_files(catalog)
    assert len(fruits) == 10
