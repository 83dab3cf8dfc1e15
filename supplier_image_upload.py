#!/usr/bin/env python3
"""Upload the drop's catalog JPEGs to the catalog service (POST /upload/), each picture once.

A JPEG goes only when it was made from the TIFF now in the drop (automation/pictures.py).
Before sending anything it asks the catalog what it holds (automation/holdings.py): an image
whose product is in the catalog already, or whose bytes a name serves already, is not sent
again. NNN.jpeg goes up as NNN.jpeg when that name is free, and as NNN-<digest>.jpeg when it
serves another picture (an earlier drop's). One run sends to a catalog at a time
(automation/catalog_lock.py). What was sent is kept in the drop's record (catalog-record.jsonl).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import logging
import sys
from collections.abc import Callable
from contextlib import nullcontext
from functools import partial
from pathlib import Path
from typing import TypeVar

from PIL import Image

from automation import settings
from automation.batch import Outcome, display_name, run_each, summarize, tell
from automation.catalog import open_catalog, sending_lock
from automation.cli import add_verbosity_flags, guarded, setup_logging
from automation.descriptions import Description, read_description
from automation.drop import (
    DESCRIPTION_SUFFIX,
    JPEG_SUFFIX,
    Drop,
    check_inside,
    files_with_suffix,
    jpeg_name,
    read_regular,
)
from automation.errors import AutomationError, ItemError
from automation.holdings import Holdings, image_names
from automation.pictures import Conversions
from automation.record import FAILED, ImageEvent, UploadRecord, sha256_of
from automation.sendonce import (
    SEND,
    Location,
    Plan,
    carry_out,
    fail,
    hold,
    note_on_sending,
    preview,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

RENEWED = ("at numbers that held an earlier drop's pictures: uploaded under names of their own "
           "(the store's service cannot replace an image)")


def description_of(drop: Drop, jpeg: Path) -> Path | None:
    """The description file of a catalog JPEG's drop entry (NNN.jpeg is NNN.txt's picture, and
    so is 114_pomme_é.jpeg that of `114 pomme é.txt`), if the drop has one."""
    exact = drop.descriptions / f"{jpeg.stem}{DESCRIPTION_SUFFIX}"
    if exact.exists():
        return exact
    try:
        descriptions = files_with_suffix(drop.descriptions, {DESCRIPTION_SUFFIX})
    except AutomationError:
        return None
    for path in descriptions:
        with contextlib.suppress(ItemError):
            if jpeg_name(path.stem) == jpeg.name:
                return path
    return None


def product_of(drop: Drop, jpeg: Path) -> Description | None:
    """The product a catalog JPEG's description describes, or None (run.py says why)."""
    path = description_of(drop, jpeg)
    try:
        return None if path is None else read_description(path)
    except ItemError:
        return None


def check_jpeg(data: bytes) -> None:
    """Refuse what is not a JPEG image: the service would refuse it, and a dry run must know."""
    try:
        with Image.open(io.BytesIO(data), formats=["JPEG"]):
            pass
    except (OSError, SyntaxError, ValueError):
        raise ItemError("not a JPEG image (Pillow cannot identify it): not uploaded") from None


def upload(holdings: Holdings, name: str, data: bytes, picture: str) -> Location:
    """Upload an image under a name that was free: the service then serves it there (no other
    run sends to this catalog meanwhile)."""
    holdings.catalog.upload_image(name, data)
    holdings.remember(name, picture)
    return {"image_name": name}


def read_jpeg(path: Path, conversions: Conversions) -> bytes:
    """The bytes of a catalog JPEG made from the TIFF now in the drop; raises ItemError."""
    check_inside(path, path.parent)
    conversions.check(path)
    data = read_regular(path)  # a FIFO would hold the read for ever
    check_jpeg(data)
    return data


def plan_upload(
    path: Path, data: bytes, drop: Drop, holdings: Holdings, record: UploadRecord
) -> Plan:
    """Decide what to do with one JPEG, from what the catalog holds."""
    item = display_name(path, drop.root)
    picture = sha256_of(data)
    event = ImageEvent(key=item, state=FAILED, sha256=picture)
    product = product_of(drop, path)
    if product is not None:
        stored = holdings.find_fruit(product, picture)
        if stored is not None:
            return hold(dataclasses.replace(event, image_name=stored["image_name"]))
    place = holdings.place(path.stem, picture)
    if place is None:
        names = image_names(path.stem, picture)
        serve = "serves another picture" if len(names) == 1 else "both serve other pictures"
        return fail(event, f"{' and '.join(names)} {serve} in the catalog: not uploaded")
    event = dataclasses.replace(event, image_name=place.name)
    if place.held:
        return hold(event)
    name = place.name

    def find(fresh: bool) -> Location | None:
        return {"image_name": name} if holdings.served(name, fresh) == picture else None

    return Plan(
        item, SEND, event,
        note=note_on_sending(record, event, f"it goes up as {name}; the store's service cannot "
                                            "replace an image"),
        preview=f"would upload {item} as {name}",
        send=partial(upload, holdings, name, data, picture),
        find=find,
    )


def warn_undescribed(images: list[Path], drop: Drop) -> None:
    """Warn of each image that has no description: no product will show it."""
    if not drop.descriptions.is_dir():
        return
    for path in images:
        if description_of(drop, path) is None:
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


def upload_drop(drop: Drop, where: settings.CatalogSettings, images_dir: Path | None = None,
                dry_run: bool = False, quiet: bool = False) -> int:
    """Upload the JPEGs the catalog lacks (of images_dir, default the drop's images); the exit
    code: 0 every image is in the catalog, 1 some failed."""
    folder = drop.require(images_dir or drop.images)
    images = files_with_suffix(folder, {JPEG_SUFFIX})
    if not images:
        log.warning("%s: no %s images to upload (has changeImage.py run?)", folder, JPEG_SUFFIX)
    warn_undescribed(images, drop)
    conversions = Conversions(drop.images, folder)
    lock = None if dry_run else sending_lock(where)
    with lock or nullcontext(), \
            UploadRecord(drop.record, where.url, writable=not dry_run) as record, \
            open_catalog(where, lock) as catalog:
        holdings = Holdings(catalog)  # fails fast, in one line, when it is unreachable

        def each(path: Path, act: Callable[[Plan], T]) -> T:
            """Plan one JPEG and act on the plan, one picture placed at a time."""
            try:
                data = read_jpeg(path, conversions)
            except ItemError as error:
                return act(fail(ImageEvent(key=display_name(path, drop.root), state=FAILED),
                                str(error)))
            with holdings.placing(sha256_of(data)):
                return act(plan_upload(path, data, drop, holdings, record))

        if dry_run:
            plans = run_each(partial(each, act=lambda plan: plan), images, where.jobs,
                             "checking", quiet)
            outcomes = [tell(preview(plan)) for plan in plans]  # in the drop's order
            return summarize(outcomes, "to upload", "already in the catalog", quiet,
                             failed="would fail (dry run: nothing sent)", renewed=RENEWED)

        def upload_one(path: Path) -> Outcome:
            return each(path, lambda plan: carry_out(plan, record, where.retries + 1, catalog))

        outcomes = run_each(upload_one, images, where.jobs, "uploading", quiet)
    return summarize(outcomes, "uploaded", "already in the catalog", quiet,
                     renewed=RENEWED)


def main(argv: list[str] | None = None) -> int:
    """Upload what the catalog lacks; exit 0 when every image is in the catalog, 1 if some
    failed, 2 if the run could not be made."""
    args = parse_args(argv)
    setup_logging(args.verbose, args.quiet, prog=Path(__file__).name)
    where = settings.CatalogSettings.from_argparse(args)
    return guarded(lambda: upload_drop(Drop(settings.drop_dir(args.data_dir)), where,
                                       args.images, args.dry_run, args.quiet))


if __name__ == "__main__":
    sys.exit(main())
