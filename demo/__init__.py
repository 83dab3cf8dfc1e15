"""The demo: a generated supplier drop, the bundled service and an SMTP sink, run end to end."""
