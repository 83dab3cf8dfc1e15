#!/usr/bin/env python3
"""The demo: two weeks of supplier drops travel through every step into the bundled catalog.

It starts the bundled catalog service and a local SMTP sink, and runs the scripts in the
operator's order exactly as an operator would (python3 SCRIPT.py, settings from the
environment): week 1's drop into the empty catalog, then week 2's, other products numbered
from 001 again, unpacked over week 1's in the same folder with its files dated a month back
(first as a dry run). It ends by saying what happened and where to look. Everything it makes is
under demo/out/, which it empties first.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import requests

from demo.processes import PROJECT, Server, free_port, start_catalog, start_smtp_sink
from demo.sample_drop import NEXT_WEEK, date_back, unpack_over, write_drop
from demo.smtp_sink import read_message

OUT = PROJECT / "demo" / "out"
IMPORT = [
    ("Convert the photos", ["changeImage.py"]),
    ("Upload the images", ["supplier_image_upload.py"]),
    ("Post the descriptions", ["run.py"]),
    ("Email the supplier report", ["report_email.py"]),
]
DRY_RUN = [
    ("Say what the upload would send", ["supplier_image_upload.py", "--dry-run"]),
]
HEALTH = ("Check the system's health, and that the catalog answers", ["health_check.py", "-v"])
MONTH = 30 * 24 * 3600


def port_is_free(port: int) -> bool:
    """Whether nothing listens on a loopback port."""
    try:
        with requests.get(f"http://127.0.0.1:{port}/", timeout=1):
            return False
    except requests.RequestException:
        return True


def run_step(title: str, command: list[str], env: dict[str, str]) -> int:
    """Run one script as the operator would, showing its output; return its exit code."""
    print(f"\n== {title}: python3 {' '.join(command)}", flush=True)
    started = time.monotonic()
    result = subprocess.run([sys.executable, *command], cwd=PROJECT, env=env,
                            stdin=subprocess.DEVNULL)
    print(f"   exit {result.returncode} in {time.monotonic() - started:.1f} s", flush=True)
    return result.returncode


def summary(catalog: Server, drop: Path, mail: Path, pdf: Path, codes: list[int]) -> str:
    """What happened, and where the operator can look."""
    fruits = requests.get(f"{catalog.url}/fruits/", timeout=10).json()
    weight = sum(fruit["weight"] for fruit in fruits)
    mails = sorted(mail.glob("*.eml"))
    lines = [
        "",
        "== What happened",
        f"   steps' exit codes: {' '.join(map(str, codes))}  (0 = all done)",
        f"   supplier drop:     {drop}",
        f"   catalog:           {len(fruits)} products, {weight} lbs in all, at {catalog.url}/",
    ]
    for fruit in fruits:
        lines.append(f"{'':22}#{fruit['id']:<3} {fruit['name']:<12} {fruit['weight']:>4} lbs  "
                     f"{catalog.url}/media/images/{fruit['image_name']}")
    lines += [
        f"   PDF report:        {pdf}" + ("" if pdf.exists() else "  (not made)"),
        f"   mail received:     {len(mails)} in {mail}/",
    ]
    for path in mails:
        message = read_message(path)
        total = next((line for line in message.get_body(("plain",)).get_content().splitlines()
                      if line.startswith("Total weight")), "")
        lines.append(f"{'':22}{path.name}: {message['Subject']!r} to {message['To']}: {total}")
    lines.append(f"   logs:              {catalog.log} and {OUT / 'smtp-sink.log'}")
    return "\n".join(lines)


def next_weeks_drop(drop: Path, count: int) -> None:
    """Week 2: other products, numbered from 001 again, unpacked over week 1's drop, the
    archive's files dated a month back (older than week 1's JPEGs)."""
    archive = OUT / "week-2-archive"
    write_drop(archive, count=count, fruits=NEXT_WEEK)
    date_back(archive, MONTH)
    unpack_over(archive, drop)


def main(argv: list[str] | None = None) -> int:
    """Run the demo; keep the catalog up until Enter when at a terminal."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10, help="products in each drop (10)")
    parser.add_argument("--weeks", type=int, choices=(1, 2), default=2,
                        help="drops to import: week 1 alone, or week 2's over it too (2)")
    parser.add_argument("--port", type=int, default=8000, help="catalog port, if free (8000)")
    parser.add_argument("--no-wait", action="store_true",
                        help="stop the catalog at the end instead of waiting for Enter")
    args = parser.parse_args(argv)

    shutil.rmtree(OUT, ignore_errors=True)
    drop, mail, pdf = OUT / "supplier-data", OUT / "mail", OUT / "processed.pdf"
    print(f"== Generate a supplier drop of {args.count} products in {drop}", flush=True)
    write_drop(drop, count=args.count)

    port = args.port if port_is_free(args.port) else free_port()
    catalog = start_catalog(OUT / "catalog", port=port)
    sink = start_smtp_sink(mail)
    print(f"   catalog service at {catalog.url}/, SMTP sink on 127.0.0.1:{sink.port}")
    env = {
        **os.environ,
        "SUPPLIER_DATA_DIR": str(drop),
        "CATALOG_URL": catalog.url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(sink.port),
        "SMTP_SECURITY": "none",
        "REPORT_PDF": str(pdf),
        "REPORT_RECIPIENT": "supplier@example.com",
        "ALERT_RECIPIENT": "oncall@example.com",
        "HEALTH_STATE_FILE": str(OUT / "health-state.json"),
        "XDG_STATE_HOME": str(OUT / "state"),  # the catalog's lock, the reports sent
    }
    codes: list[int] = []
    try:
        for title, command in IMPORT:
            codes.append(run_step(f"Week 1: {title}", command, env))
        if args.weeks == 2:
            print(f"\n== Week 2: the next drop ({args.count} other products, numbered from 001 "
                  f"again) unpacked over week 1's in {drop}, its files dated a month back",
                  flush=True)
            next_weeks_drop(drop, args.count)
            steps = [IMPORT[0], *DRY_RUN, *IMPORT[1:]]
            for title, command in steps:
                codes.append(run_step(f"Week 2: {title}", command, env))
        title, command = HEALTH
        codes.append(run_step(title, [*command, "--url", catalog.url], env))
        time.sleep(0.5)  # let the sink finish writing the last message
        print(summary(catalog, drop, mail, pdf, codes), flush=True)
        if sys.stdin.isatty() and not args.no_wait:
            input(f"\nThe catalog stays at {catalog.url}/ : press Enter to stop it. ")
    except KeyboardInterrupt:
        print()
    finally:
        catalog.stop()
        sink.stop()
    return 0 if all(code in (0, 1) for code in codes[:-1]) else 1


if __name__ == "__main__":
    sys.exit(main())
