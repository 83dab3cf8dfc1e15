"""Exactly once and the right picture, whatever fails: the real service behind a fault proxy.

Each case ends by checking the two promises against the catalog itself: every product is there
once, and each fruit's image_name serves the bytes of its own JPEG (hashed with hashlib here).
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import changeImage
import run
import supplier_image_upload
from automation.catalog_lock import lock_path
from automation.descriptions import read_description
from demo.processes import PROJECT, start_catalog
from demo.proxy import CatalogProxy
from demo.sample_drop import NEXT_WEEK, write_drop
from tests.helpers import catalog_fruits, media_files

pytestmark = pytest.mark.usefixtures("quick_backoff")

QUICK = ["--timeout", "1", "--settle", "1", "--retries", "2"]


def steps(drop: Path, url: str, *flags: str, quiet: bool = True) -> list[int]:
    """Upload the images, then post the fruits, in-process; both exit codes."""
    argv = ["--data-dir", str(drop), "--url", url, "--jobs", "1", *flags,
            *(["-q"] if quiet else [])]
    return [supplier_image_upload.main(argv), run.main(argv)]


def products_of(drop: Path) -> dict[tuple[str, int, str], str]:
    """Each product of a drop (its fields) with the SHA-256 of its own catalog JPEG."""
    products = {}
    for path in sorted((drop / "descriptions").glob("*.txt")):
        product = read_description(path)
        jpeg = drop / "images" / f"{path.stem}.jpeg"
        key = (product.name, product.weight, product.description)
        products[key] = hashlib.sha256(jpeg.read_bytes()).hexdigest()
    return products


def assert_each_product_once_with_its_own_picture(
    server, products: dict[tuple[str, int, str], str]
) -> None:
    """Every product in the catalog exactly once, its image_name serving its own JPEG."""
    fruits = catalog_fruits(server)
    found = [(f["name"], f["weight"], f["description"]) for f in fruits]
    assert sorted(found) == sorted(products)
    for fruit in fruits:
        served = requests.get(f"{server.url}/media/images/{fruit['image_name']}", timeout=10)
        key = (fruit["name"], fruit["weight"], fruit["description"])
        assert hashlib.sha256(served.content).hexdigest() == products[key], fruit


def test_a_photo_cut_short_in_the_next_drop_never_sends_last_weeks_jpeg(
    converted: Path, catalog, capsys
) -> None:
    """Issue case 1: the next drop's 003.tiff arrives cut short; its old JPEG stays behind."""
    assert steps(converted, catalog.url) == [0, 0]
    week1 = products_of(converted)
    write_drop(converted, size=(300, 200), fruits=NEXT_WEEK)
    tiff = converted / "images" / "003.tiff"
    tiff.write_bytes(tiff.read_bytes()[:2000])
    assert changeImage.main(["--data-dir", str(converted), "--jobs", "1", "-q"]) == 1
    capsys.readouterr()

    assert steps(converted, catalog.url) == [1, 1]
    err = capsys.readouterr().err.splitlines()
    assert [line for line in err if "ERROR" in line] == [
        "supplier_image_upload.py: ERROR: images/003.jpeg: was not made from the "
        "images/003.tiff now in the drop (it could not be converted, or changeImage.py has not "
        "run since it arrived): not sent",
        "run.py: ERROR: descriptions/003.txt: its picture images/003.jpeg was not made from the "
        "images/003.tiff now in the drop (it could not be converted, or changeImage.py has not "
        "run since it arrived): not sent",
    ]
    week2 = products_of(converted)
    cut = read_description(converted / "descriptions" / "003.txt")
    del week2[(cut.name, cut.weight, cut.description)]  # not posted: no picture of its own
    assert_each_product_once_with_its_own_picture(catalog, {**week1, **week2})


def test_a_post_the_service_stores_after_the_timeout_is_not_sent_again(
    converted: Path, catalog, proxy: CatalogProxy, capsys
) -> None:
    """Issue case 2: the service takes longer than --timeout and stores the fruit anyway; it is
    asked whether the fruit landed only once the post surely completed."""
    argv = ["--data-dir", str(converted), "--url", proxy.url, "--jobs", "1", "-q"]
    assert supplier_image_upload.main(argv) == 0
    proxy.post_faults.append(1.6)  # the first fruit's post reaches the service after 1.6 s
    assert run.main([*argv, *QUICK]) == 0
    proxy.wait_idle()  # the held post lands after the client gave up on it
    assert_each_product_once_with_its_own_picture(catalog, products_of(converted))
    assert proxy.forwarded_posts == 20


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill-9"])
def test_a_run_interrupted_while_the_service_stores_a_post_is_resumed_without_a_double(
    converted: Path, catalog, proxy: CatalogProxy, how: int
) -> None:
    """Issue case 3: interrupted while a post is on its way; the same command at once waits
    until that post surely completed, then finds it in the catalog."""
    argv = ["--data-dir", str(converted), "--url", proxy.url, "--jobs", "1", "-q"]
    assert supplier_image_upload.main(argv) == 0
    proxy.post_faults.append(2.0)
    command = [sys.executable, "run.py", *argv, "--timeout", "2", "--settle", "2"]
    environment = {**os.environ}
    first = subprocess.Popen(command, cwd=PROJECT, env=environment, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not any(method == "POST" and path == "/fruits/" for method, path, _ in proxy.received):
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.05)
    first.send_signal(how)
    first.communicate(timeout=30)
    assert first.returncode != 0
    second = subprocess.run([arg for arg in command if arg != "-q"], cwd=PROJECT,
                            env=environment, stdin=subprocess.DEVNULL, capture_output=True,
                            text=True, timeout=60)
    assert second.returncode == 0, second.stderr
    assert "got no answer: waiting" in second.stderr and "Traceback" not in second.stderr
    assert_each_product_once_with_its_own_picture(catalog, products_of(converted))


def test_two_copies_of_a_drop_run_at_once_from_two_folders_send_each_item_once(
    converted: Path, catalog, tmp_path: Path
) -> None:
    """Issue case 4: one run per catalog at a time, whichever folder it runs from."""
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-a", str(converted), str(copy)], check=True)
    runs = []
    for folder in (converted, copy):
        # A copied drop's TIFFs are new files: its JPEGs are made again (the same bytes).
        command = (f"{sys.executable} changeImage.py --data-dir {folder} -q && "
                   f"{sys.executable} supplier_image_upload.py --data-dir {folder} --url "
                   f"{catalog.url} -q && {sys.executable} run.py --data-dir {folder} --url "
                   f"{catalog.url} -q")
        runs.append(subprocess.Popen(["sh", "-c", command], cwd=PROJECT,
                                     stdin=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True))
    for process in runs:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    assert_each_product_once_with_its_own_picture(catalog, products_of(converted))
    assert len(media_files(catalog)) == 10
    assert lock_path(catalog.url).exists()


def test_a_long_item_number_gets_a_name_that_fits_and_converges(
    drop: Path, catalog, capsys
) -> None:
    """Issue case 5: NNN of 120 characters; the name fits 93 characters, a re-run stores
    nothing more, and the fruit is posted."""
    long = "4" * 120
    for folder, suffix in (("images", ".tiff"), ("descriptions", ".txt")):
        (drop / folder / f"004{suffix}").rename(drop / folder / f"{long}{suffix}")
    assert changeImage.main(["--data-dir", str(drop), "--jobs", "1", "-q"]) == 0
    assert steps(drop, catalog.url) == [0, 0]
    assert steps(drop, catalog.url) == [0, 0]
    picture = hashlib.sha256((drop / "images" / f"{long}.jpeg").read_bytes()).hexdigest()
    expected = f"{'4' * 75}-{picture[:12]}.jpeg"
    assert len(expected) == 93
    assert expected in media_files(catalog)
    assert len(media_files(catalog)) == 10
    assert_each_product_once_with_its_own_picture(catalog, products_of(drop))


def test_a_picture_served_under_another_number_is_not_uploaded_again(
    converted: Path, catalog, capsys
) -> None:
    """Issue case 6: these very bytes are served as 006-<digest>.jpeg already (an earlier
    drop's fruit uses them): 004 shows them under that name."""
    ours = (converted / "images" / "004.jpeg").read_bytes()
    earlier = f"006-{hashlib.sha256(ours).hexdigest()[:12]}.jpeg"
    requests.post(f"{catalog.url}/upload/", files={"file": (earlier, ours)}, timeout=10)
    requests.post(f"{catalog.url}/fruits/", json={
        "name": "Old", "weight": 1, "description": "An earlier drop's.", "image_name": earlier,
    }, timeout=10)
    assert steps(converted, catalog.url) == [0, 0]
    assert len(media_files(catalog)) == 10  # nine new pictures, and the earlier one
    mine = next(f for f in catalog_fruits(catalog)
                if f["name"] == read_description(converted / "descriptions" / "004.txt").name)
    assert mine["image_name"] == earlier


@pytest.mark.parametrize("damage", [b'{"kind": "fruit", "key": "caf\xc3', b"\x00\xff\xfe" * 50],
                         ids=["cut-in-a-character", "binary"])
def test_a_damaged_record_is_set_aside_and_nothing_is_sent_twice(
    converted: Path, catalog, capsys, damage: bytes
) -> None:
    """Issue case 7: the catalog is the truth; the damaged record is kept for a look."""
    assert steps(converted, catalog.url) == [0, 0]
    record = converted / "catalog-record.jsonl"
    record.write_bytes(record.read_bytes() + damage)
    capsys.readouterr()
    assert steps(converted, catalog.url, quiet=False) == [0, 0]
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "catalog-record.jsonl: damaged (not UTF-8 text at byte" in err
    assert len(list(converted.glob("catalog-record.jsonl.damaged-*"))) == 1
    assert_each_product_once_with_its_own_picture(catalog, products_of(converted))
    assert len(media_files(catalog)) == 10


def test_a_record_that_cannot_be_written_stops_the_run_before_anything_is_sent(
    converted: Path, catalog
) -> None:
    """Issue case 7: a full disk (here a file size limit) is one line and exit 2."""
    record = converted / "catalog-record.jsonl"
    record.write_bytes(b"\n" * 4096)

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    done = subprocess.run(
        [sys.executable, "supplier_image_upload.py", "--data-dir", str(converted), "--url",
         catalog.url], cwd=PROJECT, capture_output=True, text=True, timeout=60,
        stdin=subprocess.DEVNULL, preexec_fn=small_files,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1].endswith(
        "catalog-record.jsonl: cannot write the record (File too large): nothing more is sent, "
        "since what is sent must be recorded first")
    assert "Traceback" not in done.stderr
    assert media_files(catalog) == []


class Answers(BaseHTTPRequestHandler):
    """A service that answers GET /fruits/ outside the contract (set per test)."""

    status = 200
    body = b"[]"
    headers_out: ClassVar[dict[str, str]] = {}

    def do_GET(self) -> None:
        self.send_response(self.status)
        for name, value in self.headers_out.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def do_POST(self) -> None:
        raise AssertionError("nothing may be sent on such an answer")

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.mark.parametrize(("status", "body", "headers", "says"), [
    pytest.param(200, [{"id": 1, "name": "Apple", "weight": 500, "description": "A."}], {},
                 "entry 1 has no 'image_name'", id="no-image-name"),
    pytest.param(200, [{"id": 1, "name": "Apple", "weight": "500", "description": "A.",
                        "image_name": "001.jpeg"}], {},
                 "entry 1 has a 'weight' that is not a whole number", id="weight-as-text"),
    pytest.param(301, [], {"Location": "http://elsewhere.invalid/fruits/"},
                 "answered a redirect (301) to http://elsewhere.invalid/fruits/, which is not "
                 "followed", id="redirect"),
])
def test_an_answer_outside_the_contract_is_one_line_and_exit_2(
    converted: Path, capsys, status: int, body: list, headers: dict, says: str
) -> None:
    """Issue case 8, also with an unreadable record: nothing goes."""
    (converted / "catalog-record.jsonl").write_bytes(b"\xff\xfe")
    handler = type("Handler", (Answers,), {"status": status, "body": json.dumps(body).encode(),
                                            "headers_out": headers})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        for main in (supplier_image_upload.main, run.main):
            capsys.readouterr()
            assert main(["--data-dir", str(converted), "--url", url, "-q"]) == 2
            errors = capsys.readouterr().err.splitlines()
            assert len(errors) == 1 and says in errors[0], errors
    finally:
        server.shutdown()
        server.server_close()


FAULTS = st.one_of(st.none(), st.just("lose"), st.just(503), st.just(1.3))


@settings(max_examples=6, suppress_health_check=list(HealthCheck), deadline=None)
@given(upload_faults=st.lists(FAULTS, max_size=4), post_faults=st.lists(FAULTS, max_size=4),
       kill_after=st.one_of(st.none(), st.floats(0.2, 2.0)), second_run=st.booleans())
def test_random_fault_schedules_end_with_each_product_once_and_its_own_picture(
    tmp_path_factory: pytest.TempPathFactory, upload_faults: list, post_faults: list,
    kill_after: float | None, second_run: bool,
) -> None:
    """Answers lost after the service stored a request, posts held past the timeout, 5xx, a
    run killed at a random moment, a second run at once: after a final clean run, every product
    is in the catalog once with its own picture, and nothing else was stored."""
    root = tmp_path_factory.mktemp("schedule")
    drop = root / "supplier-data"
    write_drop(drop, size=(60, 40), count=4)
    assert changeImage.main(["--data-dir", str(drop), "--jobs", "1", "-q"]) == 0
    server = start_catalog(root / "catalog-service")
    proxy = CatalogProxy(server.url).start()
    try:
        proxy.post_faults.extend([*upload_faults, *post_faults])
        command = (f"{sys.executable} supplier_image_upload.py --data-dir {drop} --url "
                   f"{proxy.url} --jobs 1 -q {' '.join(QUICK)}; {sys.executable} run.py "
                   f"--data-dir {drop} --url {proxy.url} -q {' '.join(QUICK)}")
        runs = [subprocess.Popen(["sh", "-c", command], cwd=PROJECT, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 start_new_session=True)
                for _ in range(2 if second_run else 1)]
        if kill_after is not None:
            time.sleep(kill_after)
            os.killpg(runs[0].pid, signal.SIGKILL)
        for process in runs:
            _, err = process.communicate(timeout=120)
            assert b"Traceback" not in err, err.decode()
        proxy.post_faults.clear()
        proxy.wait_idle()
        assert steps(drop, proxy.url, *QUICK) == [0, 0]
        assert_each_product_once_with_its_own_picture(server, products_of(drop))
        assert len(media_files(server)) == 4
    finally:
        proxy.stop()
        server.stop()
