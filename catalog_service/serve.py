#!/usr/bin/env python
"""Run the catalog service: migrate its database, then become a gunicorn server."""

import argparse
import os
import secrets
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def bounded_int(low: int, high: int):
    """Make an argparse type for an int in [low, high]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    return parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (%(default)s)")
    parser.add_argument("--port", type=bounded_int(1, 65535), default=8000, help="(%(default)s)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("CATALOG_DATA_DIR") or HERE / "var"),
        help="holds db.sqlite3 and media/ ($CATALOG_DATA_DIR or %(default)s)",
    )
    parser.add_argument("--workers", type=bounded_int(1, 64), default=1, help="(%(default)s)")
    parser.add_argument(
        "--threads", type=bounded_int(1, 256), default=8, help="per worker (%(default)s)"
    )
    parser.add_argument(
        "--fd", type=int,
        help="serve on this listening socket, inherited from the caller, not --host/--port",
    )
    migration = parser.add_mutually_exclusive_group()
    migration.add_argument(
        "--no-migrate", action="store_true",
        help="the database is already migrated (a copy of one that --migrate-only made)",
    )
    migration.add_argument(
        "--migrate-only", action="store_true", help="create or update the database, then exit"
    )
    return parser.parse_args(argv)


def migrate() -> None:
    """Create or update the database in CATALOG_DATA_DIR."""
    sys.path.insert(0, str(HERE))
    import django
    from django.core.management import call_command
    from django.db import connections

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    connections.close_all()


def main() -> None:
    """Prepare the data dir and database, then replace this process with gunicorn."""
    args = parse_args()
    data_dir = args.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["CATALOG_DATA_DIR"] = str(data_dir)
    # Always the service's own settings: a DJANGO_SETTINGS_MODULE inherited from the caller
    # (pytest-django exports the tests' one) is not this server's.
    os.environ["DJANGO_SETTINGS_MODULE"] = "fruitstore.settings"
    # Set here so that every gunicorn worker has the same key.
    os.environ.setdefault("CATALOG_SECRET_KEY", secrets.token_urlsafe(50))
    if not args.no_migrate:
        migrate()
    if args.migrate_only:
        return

    host = f"[{args.host}]" if ":" in args.host and not args.host.startswith("[") else args.host
    bind = f"fd://{args.fd}" if args.fd is not None else f"{host}:{args.port}"
    command = [
        sys.executable, "-m", "gunicorn", "fruitstore.wsgi:application",
        "--chdir", str(HERE),
        "--bind", bind,
        "--workers", str(args.workers),
        "--threads", str(args.threads),
        "--worker-class", "gthread",
        "--access-logfile", "-",
        "--graceful-timeout", "2",
        # Several instances may run at once (tests): no shared control socket in $HOME.
        "--no-control-socket",
    ]  # fmt: skip
    sys.stdout.flush()
    sys.stderr.flush()
    # exec, not a child: whoever started us can stop the server by signalling this pid.
    os.execv(sys.executable, command)


if __name__ == "__main__":
    main()
