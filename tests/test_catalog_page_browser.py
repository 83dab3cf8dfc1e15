"""The catalog page in a real browser (headless Chromium): every image loads, every text shows."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from selenium.common.exceptions import NoAlertPresentException

from demo.sample_drop import FRUITS
from tests.helpers import run_script

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="needs Chromium and ChromeDriver (Debian: apt install chromium chromium-driver)",
)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    """Headless Chromium driven through ChromeDriver, with no network of its own."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def test_every_product_shows_with_its_image_loaded(drop: Path, catalog, browser) -> None:
    env = {"SUPPLIER_DATA_DIR": str(drop), "CATALOG_URL": catalog.url}
    for step in ("changeImage.py", "supplier_image_upload.py", "run.py"):
        assert run_script(step, env=env).returncode == 0
    browser.get(f"{catalog.url}/")
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth,"
        " i.naturalHeight]);"
    )
    assert sorted(images) == sorted([fruit.name, True, 600, 400] for fruit in FRUITS)
    text = browser.execute_script("return document.body.innerText;")
    for fruit in FRUITS:
        assert fruit.name in text
        assert f"Weight: {fruit.weight} lbs" in text
        assert " ".join(fruit.description.split()) in " ".join(text.split())


def test_what_a_supplier_wrote_is_shown_as_text_and_never_runs(catalog, browser) -> None:
    hostile = [
        {"name": "<script>window.__xss = 1</script>", "weight": 1,
         "description": "<script>alert(1); window.__xss = 2</script>", "image_name": "1.jpeg"},
        {"name": "<img src=x onerror='window.__xss = 3'>", "weight": 2,
         "description": "Salt & Pepper <Special>", "image_name": "x\" onerror=\"window.__xss=4"},
    ]
    for fruit in hostile:
        requests.post(f"{catalog.url}/fruits/", json=fruit, timeout=10).raise_for_status()
    browser.get(f"{catalog.url}/")
    assert browser.execute_script("return window.__xss;") is None
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 - reading it is the check
    text = browser.execute_script("return document.body.innerText;")
    for fruit in hostile:
        assert fruit["name"] in text
        assert fruit["description"] in text
