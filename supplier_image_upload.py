#!/usr/bin/env python3
"""Upload the drop's catalog JPEGs to the catalog service (POST /upload/), each exactly once.

What landed is kept in the drop's record (catalog-record.jsonl), so running this again uploads
only what is missing. Delete an image's lines from the record to upload it again on purpose.
"""

from __future__ import annotations

import argparse
import logging
import sys
from functools import partial
from pathlib import Path

from automation import settings
from automation.batch import (
    DONE,
    FAILED,
    SKIPPED,
    Outcome,
    already_landed,
    display_name,
    run_each,
    summarize,
)
from automation.catalog import Catalog, Rejected, deliver, open_catalog
from automation.cli import add_verbosity_flags, guarded, setup_logging
from automation.drop import DESCRIPTION_SUFFIX, JPEG_SUFFIX, Drop, check_inside, files_with_suffix
from automation.errors import ItemError
from automation.record import IMAGE, Decision, UploadRecord, decide, sha256_of

log = logging.getLogger(__name__)


def has_landed(catalog: Catalog, name: str, digest: str) -> bool:
    """Whether the catalog serves this very image under its name."""
    served = catalog.image(name)
    return served is not None and sha256_of(served) == digest


def upload_one(
    path: Path, drop: Drop, catalog: Catalog, record: UploadRecord, attempts: int
) -> Outcome:
    """Upload one JPEG unless the record or the catalog shows it already landed."""
    item = display_name(path, drop.root)
    try:
        check_inside(path, path.parent)
        data = path.read_bytes()
    except OSError as error:
        return Outcome(item, FAILED, f"cannot read it: {error.strerror or error}")
    except ItemError as error:
        return Outcome(item, FAILED, str(error))
    digest = sha256_of(data)
    entry = record.entry(IMAGE, path.name)
    decision = decide(entry, digest)
    landed = already_landed(decision, item, entry, "the service cannot replace an image")
    if landed:
        return landed
    if decision is Decision.CHECK and has_landed(catalog, path.name, digest):
        record.add(IMAGE, path.name, "done", sha256=digest, file=item)
        return Outcome(item, SKIPPED, "its upload had landed before: recorded, not sent again")

    record.add(IMAGE, path.name, "pending", sha256=digest, file=item)
    try:
        deliver(
            send=partial(catalog.upload_image, path, data),
            landed=lambda: True if has_landed(catalog, path.name, digest) else None,
            attempts=attempts,
            what=item,
        )
    except Rejected as error:
        record.add(IMAGE, path.name, "failed", reason=str(error), file=item)
        return Outcome(item, FAILED, str(error))
    except ItemError as error:
        record.add(IMAGE, path.name, "failed", reason=str(error), file=item, uncertain=True)
        return Outcome(item, FAILED, str(error))
    record.add(IMAGE, path.name, "done", sha256=digest, file=item)
    return Outcome(item, DONE)


def warn_undescribed(images: list[Path], drop: Drop) -> None:
    """Warn of each image that has no description: no product will show it."""
    if not drop.descriptions.is_dir():
        return
    described = {path.stem for path in files_with_suffix(drop.descriptions, {DESCRIPTION_SUFFIX})}
    for path in images:
        if path.stem not in described:
            log.warning(
                "%s: there is no descriptions/%s%s: uploaded, but no product will show it",
                display_name(path, drop.root), path.stem, DESCRIPTION_SUFFIX,
            )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line, with defaults from the environment."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    settings.DATA_DIR.add_to(parser)
    settings.add_catalog_flags(parser)
    parser.add_argument(
        "--images", type=Path, metavar="DIR",
        help="upload the JPEGs of this folder (default: <drop>/images)",
    )
    add_verbosity_flags(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Upload what is missing; exit 0 when every image is in the catalog, 1 if some failed, 2 if
    the run could not be made."""
    args = parse_args(argv)
    setup_logging(args.verbose, args.quiet, prog=Path(__file__).name)

    def run() -> int:
        drop = Drop(settings.drop_dir(args.data_dir))
        folder = drop.require(args.images or drop.images)
        images = files_with_suffix(folder, {JPEG_SUFFIX})
        if not images:
            log.warning("%s: no %s images to upload (has changeImage.py run?)", folder, JPEG_SUFFIX)
        warn_undescribed(images, drop)
        with UploadRecord(drop.record, args.url) as record, open_catalog(args) as catalog:
            catalog.fruits()  # fails fast, in one line, when the service is unreachable
            upload = partial(
                upload_one, drop=drop, catalog=catalog, record=record, attempts=args.retries + 1
            )
            outcomes = run_each(upload, images, args.jobs, "uploading", args.quiet)
        return summarize(outcomes, "uploaded", "already in the catalog", args.quiet)

    return guarded(run)


if __name__ == "__main__":
    sys.exit(main())
