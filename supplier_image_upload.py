#!/usr/bin/env python3
"""Upload the drop's catalog JPEGs to the catalog service (POST /upload/), each picture once.

Before sending anything it asks the catalog what it holds (automation/holdings.py): an image
whose product is in the catalog already, or whose name serves these very bytes already, is not
sent again. NNN.jpeg goes up as NNN.jpeg when that name is free, and as NNN-<digest>.jpeg when
it serves another picture (an earlier drop's); after an upload the name is checked to serve the
bytes sent. What was sent is kept in the drop's record (catalog-record.jsonl).
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import logging
import sys
from functools import partial
from pathlib import Path

from PIL import Image

from automation import settings
from automation.batch import Outcome, display_name, run_each, summarize, tell
from automation.catalog import open_catalog
from automation.cli import add_verbosity_flags, guarded, setup_logging
from automation.descriptions import Description, read_description
from automation.drop import DESCRIPTION_SUFFIX, JPEG_SUFFIX, Drop, check_inside, files_with_suffix
from automation.errors import ItemError
from automation.holdings import Holdings, image_names
from automation.record import FAILED, ImageEvent, UploadRecord, sha256_of
from automation.sendonce import SEND, Landed, Plan, carry_out, fail, hold, note_on_sending, preview

log = logging.getLogger(__name__)


def product_of(drop: Drop, key: str) -> Description | None:
    """The product the description of drop entry key describes, or None (run.py says why)."""
    try:
        return read_description(drop.descriptions / f"{key}{DESCRIPTION_SUFFIX}")
    except ItemError:
        return None


def check_jpeg(data: bytes) -> None:
    """Refuse what is not a JPEG image: the service would refuse it, and a dry run must know."""
    try:
        with Image.open(io.BytesIO(data), formats=["JPEG"]):
            pass
    except (OSError, SyntaxError, ValueError):
        raise ItemError("not a JPEG image (Pillow cannot identify it): not uploaded") from None


def upload(holdings: Holdings, name: str, data: bytes, picture: str) -> Landed:
    """Upload an image under name, and check that the name now serves it."""
    holdings.catalog.upload_image(name, data)
    if holdings.served(name, fresh=True) != picture:
        raise ItemError(
            f"after the upload, {name} does not serve it (the service renames an upload whose "
            "name is taken): run this again to upload it under a name of its own"
        )
    return {"image_name": name}


def plan_upload(path: Path, drop: Drop, holdings: Holdings, record: UploadRecord) -> Plan:
    """Decide what to do with one JPEG, from what the catalog holds."""
    item = display_name(path, drop.root)
    event = ImageEvent(key=item, state=FAILED)
    try:
        check_inside(path, path.parent)
        data = path.read_bytes()
        check_jpeg(data)
    except OSError as error:
        return fail(event, f"cannot read it: {error.strerror or error}")
    except ItemError as error:
        return fail(event, str(error))
    picture = sha256_of(data)
    event = dataclasses.replace(event, sha256=picture)
    product = product_of(drop, path.stem)
    if product is not None:
        stored = holdings.find_fruit(product, picture)
        if stored is not None:
            return hold(dataclasses.replace(event, image_name=stored["image_name"]))
    place = holdings.place(path.stem, picture)
    if place is None:
        names = " and ".join(image_names(path.stem, picture))
        return fail(event, f"{names} both serve other pictures in the catalog: not uploaded")
    event = dataclasses.replace(event, image_name=place.name)
    if place.held:
        return hold(event)
    name = place.name

    def find(fresh: bool) -> Landed | None:
        return {"image_name": name} if holdings.served(name, fresh) == picture else None

    return Plan(
        item, SEND, event,
        why=note_on_sending(record, event, f"it goes up as {name}; the store's service cannot "
                                           "replace an image"),
        preview=f"would upload {item} as {name}",
        send=partial(upload, holdings, name, data, picture),
        find=find,
    )


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
    settings.add_dry_run_flag(parser, "uploaded")
    add_verbosity_flags(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Upload what the catalog lacks; exit 0 when every image is in the catalog, 1 if some
    failed, 2 if the run could not be made."""
    args = parse_args(argv)
    setup_logging(args.verbose, args.quiet, prog=Path(__file__).name)

    def run() -> int:
        drop = Drop(settings.drop_dir(args.data_dir))
        folder = drop.require(args.images or drop.images)
        images = files_with_suffix(folder, {JPEG_SUFFIX})
        if not images:
            log.warning("%s: no %s images to upload (has changeImage.py run?)", folder, JPEG_SUFFIX)
        warn_undescribed(images, drop)
        with UploadRecord(drop.record, args.url, writable=not args.dry_run) as record, \
                open_catalog(args) as catalog:
            holdings = Holdings(catalog)  # fails fast, in one line, when it is unreachable
            plan = partial(plan_upload, drop=drop, holdings=holdings, record=record)
            if args.dry_run:
                plans = run_each(plan, images, args.jobs, "checking", args.quiet)
                outcomes = [tell(preview(plan)) for plan in plans]
                return summarize(outcomes, "to upload", "already in the catalog", args.quiet,
                                 failed="would fail (dry run: nothing sent)")

            def upload_one(path: Path) -> Outcome:
                return carry_out(plan(path), record, attempts=args.retries + 1)

            outcomes = run_each(upload_one, images, args.jobs, "uploading", args.quiet)
        return summarize(outcomes, "uploaded", "already in the catalog", args.quiet)

    return guarded(run)


if __name__ == "__main__":
    sys.exit(main())
