#!/usr/bin/env python3
"""Post each description of the drop to the catalog service as a fruit (POST /fruits/), once.

An item is a drop entry NNN: descriptions/NNN.txt becomes a fruit whose image is NNN.jpeg.
What landed is kept in the drop's record (catalog-record.jsonl), so running this again posts
only what is missing. Delete an item's lines from the record to post it again on purpose.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from functools import partial
from pathlib import Path
from typing import Any

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
from automation.descriptions import read_description
from automation.drop import DESCRIPTION_SUFFIX, Drop, check_inside, files_with_suffix, jpeg_name
from automation.errors import ItemError
from automation.record import FRUIT, IMAGE, Decision, UploadRecord, decide, sha256_of

log = logging.getLogger(__name__)


def fingerprint(fruit: dict[str, Any]) -> str:
    """The digest of a fruit's content, to notice a description changed after it was posted."""
    return sha256_of(json.dumps(fruit, sort_keys=True, ensure_ascii=False).encode())


def find_landed(
    fruits: list[dict[str, Any]], fruit: dict[str, Any], since_id: int
) -> dict[str, Any] | None:
    """The catalog's copy of a fruit posted after since_id, if it is there."""
    for stored in fruits:
        if stored.get("id", 0) > since_id and all(stored.get(k) == v for k, v in fruit.items()):
            return stored
    return None


class Importer:
    """Posts a drop's descriptions as fruits, using the record and one view of the catalog."""

    def __init__(self, drop: Drop, catalog: Catalog, record: UploadRecord, attempts: int) -> None:
        self.drop = drop
        self.catalog = catalog
        self.record = record
        self.attempts = attempts
        self.fruits_at_start = catalog.fruits()  # fails fast when the service is unreachable
        self.since_id = max((fruit.get("id", 0) for fruit in self.fruits_at_start), default=0)

    def image_missing(self, key: str) -> str | None:
        """Why the fruit's image is not in the catalog, or None when it is."""
        name = jpeg_name(key)
        entry = self.record.entry(IMAGE, name)
        if entry and entry["state"] == "done":
            return None
        if not (self.drop.images / name).exists():
            return f"there is no images/{name} (did changeImage.py convert its photo?)"
        if self.catalog.image(name) is not None:
            return None
        return f"its image {name} is not in the catalog yet (run supplier_image_upload.py first)"

    def post_one(self, path: Path) -> Outcome:
        """Post one description unless the record or the catalog shows it already landed."""
        item = display_name(path, self.drop.root)
        key = path.stem
        try:
            check_inside(path, path.parent)
            fruit = read_description(path).as_fruit(jpeg_name(key))
        except ItemError as error:
            self.record.add(FRUIT, key, "failed", reason=str(error), file=item)
            return Outcome(item, FAILED, str(error))
        digest = fingerprint(fruit)
        entry = self.record.entry(FRUIT, key)
        decision = decide(entry, digest)
        landed = already_landed(decision, item, entry, "the service cannot update a fruit")
        if landed:
            return landed
        if decision is Decision.CHECK:
            found = find_landed(self.fruits_at_start, fruit, entry.get("since_id", 0))
            if found:
                self.done(key, item, fruit, digest, found)
                return Outcome(item, SKIPPED, "its post had landed before: not sent again")

        missing = self.image_missing(key)
        if missing:
            self.record.add(FRUIT, key, "failed", reason=missing, file=item, name=fruit["name"])
            return Outcome(item, FAILED, missing)

        self.record.add(FRUIT, key, "pending", sha256=digest, since_id=self.since_id, file=item)
        try:
            stored = deliver(
                send=partial(self.catalog.post_fruit, fruit),
                landed=lambda: find_landed(self.catalog.fruits(), fruit, self.since_id),
                attempts=self.attempts,
                what=item,
            )
        except Rejected as error:
            self.record.add(FRUIT, key, "failed", reason=str(error), file=item, name=fruit["name"])
            return Outcome(item, FAILED, str(error))
        except ItemError as error:
            self.record.add(
                FRUIT, key, "failed", reason=str(error), file=item, name=fruit["name"],
                since_id=self.since_id, uncertain=True,
            )
            return Outcome(item, FAILED, str(error))
        self.done(key, item, fruit, digest, stored)
        return Outcome(item, DONE)

    def done(self, key: str, item: str, fruit: dict, digest: str, stored: dict) -> None:
        """Record a fruit as in the catalog, with what the supplier report needs."""
        self.record.add(
            FRUIT, key, "done", sha256=digest, file=item, id=stored.get("id"),
            name=fruit["name"], weight=fruit["weight"], image_name=fruit["image_name"],
        )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line, with defaults from the environment."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    settings.DATA_DIR.add_to(parser)
    settings.add_catalog_flags(parser)
    add_verbosity_flags(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Post what is missing; exit 0 when every fruit is in the catalog, 1 if some failed, 2 if the
    run could not be made."""
    args = parse_args(argv)
    setup_logging(args.verbose, args.quiet, prog=Path(__file__).name)

    def run() -> int:
        drop = Drop(settings.drop_dir(args.data_dir))
        descriptions = files_with_suffix(drop.require(drop.descriptions), {DESCRIPTION_SUFFIX})
        if not descriptions:
            log.warning("%s: no %s descriptions to post", drop.descriptions, DESCRIPTION_SUFFIX)
        with UploadRecord(drop.record, args.url) as record, open_catalog(args) as catalog:
            importer = Importer(drop, catalog, record, attempts=args.retries + 1)
            outcomes = run_each(importer.post_one, descriptions, args.jobs, "posting", args.quiet)
        return summarize(outcomes, "posted", "already in the catalog", args.quiet)

    return guarded(run)


if __name__ == "__main__":
    sys.exit(main())
