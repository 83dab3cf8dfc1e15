"""The one parser of the supplier's description files (name, weight in lbs, description)."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path

from automation.drop import open_regular
from automation.errors import ItemError

MAX_FILE_BYTES = 1_000_000
MAX_WEIGHT_LBS = 2_147_483_647  # what a signed 32-bit integer column holds

_WEIGHT = re.compile(
    r"""^(?P<sign>[-+]?)\s*
        (?P<number>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)
        (?P<fraction>\.[0-9]+)?
        \s*(?P<unit>[^\W\d_].*)?$""",
    re.VERBOSE,
)
# What follows the digits of a number not written plainly: the exponent of 1e9 or 1.5E+3, the
# x of 0x1F4 (the weight's pattern takes such a rest for its unit).
_NOT_PLAIN = re.compile(r"[eE][-+]?[0-9]|[xX][0-9a-fA-F]")
_POUNDS = {"lb", "lbs", "lb.", "lbs.", "pound", "pounds"}


class DescriptionError(ItemError):
    """A description file that cannot be turned into a catalog entry."""


@dataclass(frozen=True)
class Description:
    """One product as its description file states it."""

    name: str
    weight: int
    description: str

    def as_fruit(self, image_name: str) -> dict[str, object]:
        """The JSON body of POST /fruits/ for this product."""
        return {
            "name": self.name,
            "weight": self.weight,
            "description": self.description,
            "image_name": image_name,
        }


def parse_weight(text: str) -> int:
    """Read a weight like '500 lbs', '500lb' or '1,200 lbs' as a whole number of lbs."""
    match = _WEIGHT.match(text.strip())
    if not match:
        raise DescriptionError(f"weight {text.strip()!r} is not a number of lbs, like '500 lbs'")
    unit = (match["unit"] or "").strip()
    if _NOT_PLAIN.match(unit):
        raise DescriptionError(f"weight {text.strip()!r} is not a plain whole number of lbs "
                               "(no exponent, no hexadecimal): write it as '500 lbs'")
    if not unit:
        raise DescriptionError(f"weight {text.strip()!r} has no unit: write it as '500 lbs'")
    if unit.lower() not in _POUNDS:
        raise DescriptionError(f"weight {text.strip()!r} is not in lbs (unit {unit!r})")
    if match["fraction"] and match["fraction"].strip(".0"):
        raise DescriptionError(f"weight {text.strip()!r} is not a whole number of lbs")
    weight = int(match["number"].replace(",", ""))
    if match["sign"] == "-" or weight == 0:
        raise DescriptionError(f"weight {text.strip()!r} must be above 0 lbs")
    if weight > MAX_WEIGHT_LBS:
        raise DescriptionError(f"weight {text.strip()!r} is too large (over {MAX_WEIGHT_LBS})")
    return weight


def parse_description(text: str) -> Description:
    """Split a description's text into name (line 1), weight (line 2) and description (the rest)."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.replace("\t", " ").strip() for line in text.split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise DescriptionError("the file is empty")
    if len(lines) < 2 or not lines[1]:
        raise DescriptionError("line 2 should be the weight, like '500 lbs'")
    name, weight_text, *rest = lines
    weight = parse_weight(weight_text)
    description = "\n".join(rest).strip()
    if not description:
        raise DescriptionError("there is no description after the weight (line 3 on)")
    return Description(name=name, weight=weight, description=description)


def decode(data: bytes) -> str:
    """Decode a description file: UTF-8 (with or without a BOM), or UTF-16 with its BOM."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        bad = data[error.start : error.start + 1].hex()
        raise DescriptionError(
            f"not {encoding.upper().removesuffix('-SIG')} text (byte 0x{bad} at offset "
            f"{error.start}): save it as UTF-8"
        ) from None


def read_bytes(path: Path) -> bytes:
    """The bytes of a description file, refusing one too large to be a description."""
    try:
        with open_regular(path) as file:  # a FIFO would hold the read for ever
            data = file.read(MAX_FILE_BYTES + 1)
    except ItemError as error:
        raise DescriptionError(str(error)) from None
    except OSError as error:
        raise DescriptionError(f"cannot read it: {error.strerror or error}") from None
    if len(data) > MAX_FILE_BYTES:
        raise DescriptionError(f"too large for a description (over {MAX_FILE_BYTES} bytes)")
    return data


def parse_bytes(data: bytes) -> Description:
    """Parse the bytes of a description file."""
    return parse_description(decode(data))


def read_description(path: Path) -> Description:
    """Read and parse one description file."""
    return parse_bytes(read_bytes(path))
