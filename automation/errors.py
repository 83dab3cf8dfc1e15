"""The project's two kinds of expected failure: one that stops a run, one that fails an item."""


class AutomationError(Exception):
    """An expected failure that stops a whole run: one line for the operator, exit 2."""


class ItemError(Exception):
    """An expected failure of one item (a file of the drop): one line, and the run goes on."""
