"""automation/drop.py: a missing drop folder is told apart from one that cannot be opened."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from automation.drop import Drop
from automation.errors import AutomationError


def python314_is_dir(self: Path, *, follow_symlinks: bool = True) -> bool:
    """Path.is_dir() as Python 3.14 has it: os.path.isdir(), which answers False for any error."""
    return os.path.isdir(self) if follow_symlinks else os.path.isdir(os.path.realpath(self))


@pytest.fixture(params=["this-python", "python-3.14"])
def is_dir_of(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run each test with this interpreter's Path.is_dir(), then with Python 3.14's."""
    if request.param == "python-3.14":
        monkeypatch.setattr(Path, "is_dir", python314_is_dir)
    return request.param


def test_an_existing_folder_is_returned(tmp_path: Path, is_dir_of: str) -> None:
    assert Drop(tmp_path).require(tmp_path) == tmp_path


@pytest.mark.parametrize("name", ["missing", "a-file/descriptions", "a-file"])
def test_a_missing_folder_is_named_as_missing(tmp_path: Path, is_dir_of: str, name: str) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(AutomationError) as stopped:
        Drop(tmp_path).require(tmp_path / name)
    assert str(stopped.value) == (
        f"{tmp_path / name}: no such folder (is SUPPLIER_DATA_DIR / --data-dir right?)"
    )


def test_a_folder_that_cannot_be_looked_up_is_not_taken_for_a_missing_one(
    tmp_path: Path, is_dir_of: str
) -> None:
    """An error other than 'not there' is named (here a name too long for the file system;
    tests/test_faults.py shows it for a folder the user may not open)."""
    folder = tmp_path / ("x" * 300)
    with pytest.raises(AutomationError) as stopped:
        Drop(tmp_path).require(folder)
    assert str(stopped.value) == f"{folder}: cannot open it: File name too long"
