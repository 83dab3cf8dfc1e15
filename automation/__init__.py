"""Shared logic of the catalog scripts: settings, the drop, descriptions, the catalog client, the record."""
