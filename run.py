#!/usr/bin/env python3
"""Post each description of the drop to the catalog service as a fruit (POST /fruits/), once.

A drop entry NNN is a product: descriptions/NNN.txt with the picture images/NNN.jpeg, made from
the TIFF now in the drop (automation/pictures.py). Before sending anything it asks the catalog
what it holds (automation/holdings.py): a product whose fruit is there already, with an image
name serving its picture, is not posted again, whatever drop, folder or number it came from. A
new product is posted with the image name that serves its picture, in the drop's order (NNN),
one at a time, so that the catalog lists it so. One run sends to a catalog at a time
(automation/catalog_lock.py). What was posted is kept in the drop's record
(catalog-record.jsonl).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from contextlib import nullcontext
from functools import partial
from pathlib import Path
from typing import Any

from automation import settings
from automation.batch import ahead, display_name, summarize, tell
from automation.catalog import MAX_DESCRIPTION, MAX_NAME, open_catalog, sending_lock
from automation.cli import add_verbosity_flags, guarded, progress, setup_logging
from automation.descriptions import Description, parse_bytes, read_bytes
from automation.drop import (
    DESCRIPTION_SUFFIX,
    Drop,
    check_inside,
    files_with_suffix,
    jpeg_name,
    read_regular,
)
from automation.errors import ItemError
from automation.holdings import Holdings
from automation.pictures import Conversions
from automation.record import (
    DONE,
    FAILED,
    IMAGE,
    FruitEvent,
    ImageEvent,
    UploadRecord,
    item_digest,
    sha256_of,
)
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


RENEWED = ("new products at numbers that held an earlier drop's products: posted as new "
           "products (the store's service cannot replace or delete a fruit)")


def picture_of(image: Path, conversions: Conversions) -> str:
    """The SHA-256 of a catalog JPEG of the drop, or "" when there is none; raises ItemError
    when it was not made from the TIFF now in the drop."""
    if not image.exists() and not image.is_symlink():
        return ""
    try:
        conversions.check(image)
        data = read_regular(image)  # a FIFO would hold the read for ever
    except ItemError as error:
        raise ItemError(f"its picture images/{image.name} {error}") from None
    return sha256_of(data)


def check_limits(product: Description) -> None:
    """Refuse what the store's service would refuse or cut (CONTRACT.md section 3)."""
    for field, value, most in (("name", product.name, MAX_NAME),
                               ("description", product.description, MAX_DESCRIPTION)):
        if len(value) > most:
            raise ItemError(f"its {field} has {len(value)} characters; the store's service "
                            f"keeps at most {most}: not posted")


def two_versions(product: Description, holdings: Holdings) -> str:
    """A warning when the catalog shows a product of this name with other details already:
    posting this one makes two versions of it show."""
    others = holdings.fruits_named(product.name)
    if not others:
        return ""
    other = others[-1]
    return (f"{product.name} is in the catalog already as fruit #{other.get('id')} with other "
            f"details ({other.get('weight')} lbs, image {other.get('image_name')}): both "
            "versions will show")


def landed_as(stored: dict[str, Any] | None) -> Location | None:
    """What the record keeps of a fruit the catalog holds."""
    return None if stored is None else {"id": stored["id"], "image_name": stored["image_name"]}


def recorded_fruit(record: UploadRecord, event: FruitEvent, holdings: Holdings) -> dict | None:
    """The fruit the record says this very item became, if the catalog still holds it: should
    a service store a text other than it was sent, the fields would not match."""
    for earlier in reversed(record.history(event.kind, event.key)):
        if isinstance(earlier, FruitEvent) and earlier.state == DONE and earlier.item == event.item:
            return holdings.fruit(earlier.id)
    return None


def remember_what_was_served(record: UploadRecord, holdings: Holdings) -> None:
    """Take in the pictures supplier_image_upload.py saw each image name serve (it checks each
    name after its upload): a name serves its picture for good, so it need not be asked again."""
    for image in record.events(IMAGE):
        if isinstance(image, ImageEvent) and image.state == DONE and image.image_name:
            holdings.remember(image.image_name, image.sha256)


def post(holdings: Holdings, fruit: dict[str, Any], picture: str) -> Location:
    """Post a fruit, and take it into the view of the catalog."""
    stored = holdings.catalog.post_fruit(fruit)
    holdings.posted({**fruit, **stored}, picture)
    return {"id": stored["id"]}


def plan_post(
    path: Path, drop: Drop, holdings: Holdings, record: UploadRecord, conversions: Conversions,
    dry_run: bool = False,
) -> Plan:
    """Decide what to do with one description, from what the catalog holds. A dry run plans an
    image not uploaded yet under the name the upload step would give it."""
    item = display_name(path, drop.root)
    event = FruitEvent(key=item, state=FAILED)
    try:
        check_inside(path, path.parent)
        text = read_bytes(path)
        image = jpeg_name(path.stem)
        picture = picture_of(drop.images / image, conversions)
    except ItemError as error:
        return fail(event, str(error))
    event = dataclasses.replace(event, item=item_digest(text, picture))
    try:
        product = parse_bytes(text)
        check_limits(product)
    except ItemError as error:
        return fail(event, str(error))
    event = dataclasses.replace(event, name=product.name, weight=product.weight)
    if not picture:
        return fail(event, f"there is no images/{image} (did changeImage.py convert its photo?)")
    stored = holdings.find_fruit(product, picture) or recorded_fruit(record, event, holdings)
    if stored is not None:
        return hold(dataclasses.replace(event, **landed_as(stored)))
    place = holdings.place(path.stem, picture)
    if place is None or not (place.held or dry_run):
        goes = f"; it goes up as {place.name}" if place else ""
        return fail(event, f"its image images/{image} is not in the catalog yet "
                           f"(run supplier_image_upload.py first{goes})")
    event = dataclasses.replace(event, image_name=place.name)
    plan = new_fruit_plan(event, product, picture, holdings, record)
    if not place.held:
        plan = dataclasses.replace(plan, preview=f"{plan.preview} (once supplier_image_upload.py "
                                                 "has uploaded it)")
    return plan


def new_fruit_plan(
    event: FruitEvent, product: Description, picture: str, holdings: Holdings,
    record: UploadRecord,
) -> Plan:
    """The plan to post a product the catalog does not hold."""
    fruit = product.as_fruit(event.image_name)

    def find(fresh: bool) -> Location | None:
        return landed_as(holdings.find_fruit(product, picture, fresh))

    return Plan(
        event.key, SEND, event,
        why=two_versions(product, holdings),
        note=note_on_sending(record, event, "it goes as a new fruit; the store's service "
                                            "cannot update or delete a fruit"),
        preview=f"would post {event.key}: {product.name}, {product.weight} lbs, "
                f"image {event.image_name}",
        send=partial(post, holdings, fruit, picture),
        find=find,
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line, with defaults from the environment."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    settings.DATA_DIR.add_to(parser)
    settings.add_catalog_flags(
        parser, jobs_help="ask the catalog this many things at once; fruits are posted one at "
                          "a time, in the drop's order")
    settings.add_dry_run_flag(parser, "posted")
    add_verbosity_flags(parser)
    return parser.parse_args(argv)


def post_drop(drop: Drop, where: settings.CatalogSettings, dry_run: bool = False,
              quiet: bool = False) -> int:
    """Post the drop's fruits the catalog lacks, in the drop's order; the exit code: 0 every
    fruit is in the catalog, 1 some failed."""
    descriptions = files_with_suffix(drop.require(drop.descriptions), {DESCRIPTION_SUFFIX})
    if not descriptions:
        log.warning("%s: no %s descriptions to post", drop.descriptions, DESCRIPTION_SUFFIX)
    conversions = Conversions(drop.images, drop.images)
    lock = None if dry_run else sending_lock(where)
    with lock or nullcontext(), \
            UploadRecord(drop.record, where.url, writable=not dry_run) as record, \
            open_catalog(where, lock) as catalog:
        holdings = Holdings(catalog)  # fails fast, in one line, when it is unreachable
        remember_what_was_served(record, holdings)
        plan = partial(plan_post, drop=drop, holdings=holdings, record=record,
                       conversions=conversions, dry_run=dry_run)
        plans = progress(ahead(plan, descriptions, where.jobs), len(descriptions),
                         "checking" if dry_run else "posting", quiet)
        if dry_run:
            outcomes = [tell(preview(plan)) for plan in plans]
            return summarize(outcomes, "to post", "already in the catalog", quiet,
                             failed="would fail (dry run: nothing sent)", renewed=RENEWED)
        outcomes = [tell(carry_out(plan, record, where.retries + 1, catalog))
                    for plan in plans]
    return summarize(outcomes, "posted", "already in the catalog", quiet,
                     renewed=RENEWED)


def main(argv: list[str] | None = None) -> int:
    """Post what the catalog lacks; exit 0 when every fruit is in the catalog, 1 if some failed,
    2 if the run could not be made."""
    args = parse_args(argv)
    setup_logging(args.verbose, args.quiet, prog=Path(__file__).name)
    where = settings.CatalogSettings.from_argparse(args)
    return guarded(lambda: post_drop(Drop(settings.drop_dir(args.data_dir)), where,
                                     args.dry_run, args.quiet))


if __name__ == "__main__":
    sys.exit(main())
