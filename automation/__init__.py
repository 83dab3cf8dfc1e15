"""Shared logic of the catalog scripts: settings, drop, descriptions, catalog client, record."""
