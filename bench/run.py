#!/usr/bin/env python3
"""Benchmark the project against the naive way, in the same run: conversion, uploads, scaling.

Each way runs as its own process, as an operator runs it; the ways alternate over several
rounds, and the tables give medians of the whole-process wall time and the peak memory (the
largest resident set of the process and its workers). Drops are generated under bench/out/.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from bench import conversion
from demo.processes import PROJECT, start_catalog
from demo.proxy import CatalogProxy
from demo.sample_drop import write_drop

OUT = PROJECT / "bench" / "out"
PYTHON = sys.executable
UPLOAD_STEPS = ("supplier_image_upload.py", "run.py")


@dataclass
class Way:
    """One way of doing a job, and what its rounds measured."""

    name: str
    seconds: list[float] = field(default_factory=list)
    peak_kb: list[int] = field(default_factory=list)

    @property
    def median(self) -> float:
        """The median wall time, in seconds."""
        return statistics.median(self.seconds)

    @property
    def peak_mb(self) -> float:
        """The largest peak resident set of any round, in MB."""
        return max(self.peak_kb) / 1024

    def add(self, seconds: float, peak_kb: int) -> None:
        """Keep one round's measures."""
        self.seconds.append(seconds)
        self.peak_kb.append(peak_kb)


def measure(commands: list[list[str]], env: dict[str, str] | None = None) -> tuple[float, int]:
    """Run commands one after the other; return their wall time and largest peak memory (KB)."""
    total, peak = 0.0, 0
    for command in commands:
        done = subprocess.run([PYTHON, "bench/peak.py", *command], cwd=PROJECT,
                              stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "XDG_STATE_HOME": str(OUT / "state"),
                                   **(env or {})})
        if done.returncode != 0:
            raise SystemExit(f"failed ({done.returncode}): {' '.join(command)}\n{done.stderr}")
        seconds, kb = done.stderr.split()[-2:]
        total += float(seconds)
        peak = max(peak, int(kb))
    return total, peak


def ensure_drop(folder: Path, count: int, size: tuple[int, int], compression: str | None) -> Path:
    """A generated drop of count products, made once and kept under bench/out/."""
    stamp = folder / f".made-{count}-{size[0]}x{size[1]}-{compression}"
    if not stamp.exists():
        shutil.rmtree(folder, ignore_errors=True)
        print(f"generating {count} photos of {size[0]}x{size[1]} in {folder} ...", flush=True)
        write_drop(folder, count=count, size=size, compression=compression)
        stamp.touch()
    return folder


def ensure_feathered_drop(folder: Path, count: int, compression: str | None) -> Path:
    """A drop of count feathered store photos, made once and kept under bench/out/."""
    stamp = folder / f".made-{count}-feathered-{conversion.FEATHER}-{compression}"
    if not stamp.exists():
        shutil.rmtree(folder, ignore_errors=True)
        print(f"generating {count} feathered store photos in {folder} ...", flush=True)
        conversion.write_feathered_drop(folder, count, compression)
        stamp.touch()
    return folder


def fresh_folder(folder: Path) -> Path:
    """An empty folder."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def conversion_table(title: str, ways: list[Way]) -> str:
    """The conversion comparison, the first way being the baseline, as markdown."""
    lines = [f"### {title}", "", "| way | median | speed-up | peak memory |",
             "| --- | --- | --- | --- |"]
    for way in ways:
        lines.append(f"| {way.name} | {way.median:.2f} s | {ways[0].median / way.median:.1f}x "
                     f"| {way.peak_mb:.0f} MB |")
    return "\n".join([*lines, ""])


ISSUE_GOALS = {"uncompressed": 2.5, "LZW": 2.2}


def issue_table(count: int, rounds: int, ratios: dict[str, float], share: float) -> str:
    """The measurement of issue 10, exactly as it describes it, with its goals."""
    lines = [
        "### The measurement of issue 10", "",
        f"The whole process of changeImage.py (all CPUs) against the naive way (open, "
        f'`convert("RGB")`, `resize((600, 400))`, save with quality 85, one file after '
        f"another), in one run: {count} store-shaped 3000x2000 RGBA photos with a feathered "
        f"transparent margin ({100 * share:.0f}% of their pixels partly transparent), medians "
        f"of {rounds} alternating rounds, {os.cpu_count()} CPUs.", "",
        "| TIFF | result | goal |", "| --- | --- | --- |",
    ]
    for label, ratio in ratios.items():
        goal = ISSUE_GOALS[label]
        lines.append(f"| {label} | {ratio:.2f}x | at least {goal}x: "
                     f"{'reached' if ratio >= goal else '**missed**'} |")
    return "\n".join([*lines, ""])


def bench_conversion(count: int, rounds: int, repeats: int) -> str:
    """changeImage.py against open/convert/resize/save one by one, on both TIFF compressions;
    then each step's cost and the JPEG settings."""
    sections, ratios, drops = [], {}, {}
    output = OUT / "converted"
    for label, compression in (("uncompressed", None), ("LZW", "tiff_lzw")):
        drop = ensure_feathered_drop(OUT / f"convert-{compression or 'raw'}", count, compression)
        drops[label] = drop
        project = [PYTHON, "changeImage.py", "--data-dir", str(drop), "--output", str(output),
                   "-q"]
        ways = {
            "naive: open, convert(RGB), resize, save with quality 85, one by one":
                [PYTHON, "bench/naive_convert.py", str(drop / "images"), str(output)],
            "changeImage.py: all CPUs": project,
            "changeImage.py --jobs 1: one process": [*project, "--jobs", "1"],
        }
        measured = [Way(name) for name in ways]
        for _ in range(rounds):
            for way, command in zip(measured, ways.values(), strict=True):
                fresh_folder(output)
                way.add(*measure([command]))
        ratios[label] = measured[0].median / measured[1].median
        title = f"Converting {count} store-shaped photos (3000x2000 RGBA), {label} TIFF"
        sections.append(conversion_table(title, measured))
    first = drops["uncompressed"] / "images" / "001.tiff"
    share = conversion.partly_transparent_share(first)
    sections.insert(0, issue_table(count, rounds, ratios, share))
    sections.append(conversion.steps_table(first, drops["LZW"] / "images" / "001.tiff",
                                           repeats))
    sections.append(conversion.jpeg_table(sorted((drops["uncompressed"] / "images").glob(
        "*.tiff")), repeats))
    return "\n".join(sections)


@contextmanager
def fresh_catalog(delay: float = 0.0) -> Iterator[tuple[str, Path]]:
    """A catalog service with an empty database, behind a delaying proxy when delay > 0; its
    URL and its access log."""
    server = start_catalog(fresh_folder(OUT / "catalog"), workers=2, threads=8)
    proxy = CatalogProxy(server.url, delay=delay).start() if delay else None
    try:
        yield (proxy.url if proxy else server.url), server.log
    finally:
        if proxy:
            proxy.stop()
        server.stop()


def requests_answered(log: Path) -> int:
    """How many requests the service answered, from its access log."""
    return sum('HTTP/1.1" ' in line for line in log.read_text(errors="replace").splitlines())


def upload_commands(drop: Path, url: str, jobs: int) -> list[list[str]]:
    """The project's two upload steps, as the operator runs them."""
    return [[PYTHON, step, "--data-dir", str(drop), "--url", url, "--jobs", str(jobs), "-q"]
            for step in UPLOAD_STEPS]


def upload_table(title: str, items: int, naive: Way, project: Way,
                 requests: dict[str, int]) -> str:
    """The upload comparison, in items per second, as markdown."""
    lines = [f"### {title}", "", "| way | requests | median | items/s | speed-up | peak memory |",
             "| --- | --- | --- | --- | --- | --- |"]
    for way in (naive, project):
        lines.append(f"| {way.name} | {requests[way.name]} | {way.median:.2f} s "
                     f"| {items / way.median:.0f} | {naive.median / way.median:.1f}x "
                     f"| {way.peak_mb:.0f} MB |")
    return "\n".join([*lines, ""])


def bench_uploads(count: int, rounds: int, jobs: int) -> str:
    """Both upload steps against fresh requests one at a time, with and without a round trip."""
    drop = ensure_drop(OUT / "uploads", count, (600, 400), None)
    subprocess.run([PYTHON, "changeImage.py", "--data-dir", str(drop), "-q"], cwd=PROJECT,
                   check=True)
    sections = []
    for label, delay in (("plain loopback", 0.0), ("a service answering after 50 ms", 0.05)):
        naive = Way("naive: a fresh requests.post per request, one at a time")
        project = Way(f"supplier_image_upload.py then run.py, --jobs {jobs}")
        requests: dict[str, int] = {}
        for _ in range(rounds):
            with fresh_catalog(delay) as (url, log):
                naive.add(*measure([[PYTHON, "bench/naive_upload.py", str(drop), url]]))
                requests[naive.name] = requests_answered(log)
            (drop / "catalog-record.jsonl").unlink(missing_ok=True)
            with fresh_catalog(delay) as (url, log):
                project.add(*measure(upload_commands(drop, url, jobs)))
                requests[project.name] = requests_answered(log)
        title = f"Uploading {count} images and {count} descriptions, {label}"
        sections.append(upload_table(title, 2 * count, naive, project, requests))
    return "\n".join(sections)


def bench_scaling(sizes: list[int], jobs: int) -> str:
    """The whole import on growing drops: time should grow linearly, memory not at all."""
    lines = ["### The whole import on growing drops (750x500 photos, plain loopback)", "",
             "| items | convert | upload images | post fruits | whole import | each item more "
             "| peak memory |", "| --- | --- | --- | --- | --- | --- | --- |"]
    previous = (0, 0.0)
    for count in sizes:
        drop = ensure_drop(OUT / f"scale-{count}", count, (750, 500), None)
        for jpeg in (drop / "images").glob("*.jpeg"):
            jpeg.unlink()
        (drop / "catalog-record.jsonl").unlink(missing_ok=True)
        convert = measure([[PYTHON, "changeImage.py", "--data-dir", str(drop), "-q"]])
        with fresh_catalog() as (url, _):
            upload, post = (measure([command]) for command in upload_commands(drop, url, jobs))
        total = convert[0] + upload[0] + post[0]
        peak = max(convert[1], upload[1], post[1]) / 1024
        marginal = (total - previous[1]) / (count - previous[0]) * 1000
        lines.append(f"| {count} | {convert[0]:.2f} s | {upload[0]:.2f} s | {post[0]:.2f} s "
                     f"| {total:.2f} s | {marginal:.1f} ms | {peak:.0f} MB |")
        previous = (count, total)
    return "\n".join([*lines, ""])


def machine() -> str:
    """The machine and software the figures come from."""
    import PIL

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{date.today():%Y-%m-%d} on {platform.machine()}, {os.cpu_count()} CPUs, "
            f"{memory:.0f} GiB, Python {platform.python_version()}, Pillow {PIL.__version__}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks asked for and print a markdown report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=24, help="photos to convert (24)")
    parser.add_argument("--upload-count", type=int, default=200, help="items to upload (200)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each way (5)")
    parser.add_argument("--repeats", type=int, default=9,
                        help="repeats of each step timed inside one process (9)")
    parser.add_argument("--jobs", type=int, default=8, help="--jobs of the upload steps (8)")
    parser.add_argument("--only", choices=("convert", "upload", "scaling"), action="append",
                        help="run only this part; may be repeated (default: all)")
    parser.add_argument("--scaling", type=int, nargs="+", default=[10, 100, 1000],
                        help="drop sizes of the scaling run (10 100 1000)")
    parser.add_argument("--write", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)
    parts = args.only or ["convert", "upload", "scaling"]
    report = [f"Measured {machine()}.", ""]
    if "convert" in parts:
        report.append(bench_conversion(args.count, args.rounds, args.repeats))
    if "upload" in parts:
        report.append(bench_uploads(args.upload_count, args.rounds, args.jobs))
    if "scaling" in parts:
        report.append(bench_scaling(args.scaling, args.jobs))
    text = "\n".join(report)
    print(text)
    if args.write:
        args.write.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
