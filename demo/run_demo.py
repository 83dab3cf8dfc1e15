#!/usr/bin/env python3
"""The demo: a generated supplier drop travels through every step into the bundled catalog.

It starts the bundled catalog service and a local SMTP sink, runs the scripts in the
operator's order exactly as an operator would (python3 SCRIPT.py, settings from the
environment), and ends by saying what happened and where to look. Everything it makes is
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
from demo.sample_drop import write_drop
from demo.smtp_sink import read_message

OUT = PROJECT / "demo" / "out"
STEPS = [
    ("Convert the photos", ["changeImage.py"]),
    ("Upload the images", ["supplier_image_upload.py"]),
    ("Post the descriptions", ["run.py"]),
    ("Email the supplier report", ["report_email.py"]),
    ("Check the system's health, and that the catalog answers", ["health_check.py", "-v"]),
]


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
        f"   PDF report:        {pdf}" + ("" if pdf.exists() else "  (not made)"),
        f"   mail received:     {len(mails)} in {mail}/",
    ]
    for path in mails:
        message = read_message(path)
        lines.append(f"{'':22}{path.name}: {message['Subject']!r} to {message['To']}")
    lines.append(f"   logs:              {catalog.log} and {OUT / 'smtp-sink.log'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the demo; keep the catalog up until Enter when at a terminal."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10, help="products in the drop (10)")
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
    }
    codes: list[int] = []
    try:
        for title, command in STEPS:
            if command[0] == "health_check.py":
                command = [*command, "--url", catalog.url]
            codes.append(run_step(title, command, env))
        time.sleep(0.5)  # let the sink finish writing the last message
        print(summary(catalog, drop, mail, pdf, codes), flush=True)
        if sys.stdin.isatty() and not args.no_wait:
            input(f"\nThe catalog stays at {catalog.url}/ : press Enter to stop it. ")
    except KeyboardInterrupt:
        print()
    finally:
        catalog.stop()
        sink.stop()
    return 0 if all(code in (0, 1) for code in codes[:4]) else 1


if __name__ == "__main__":
    sys.exit(main())
