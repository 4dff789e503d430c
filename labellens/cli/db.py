"""``labellens db``: the embedded MongoDB server (status, start, stop)."""

from __future__ import annotations

from pathlib import Path

import click

from labellens import db as database
from labellens.db import config, mongod
from labellens.errors import ValidationError


@click.group()
def db() -> None:
    """The database: the embedded mongod, or the server at LABELLENS_DATABASE_URI."""


@db.command()
def status() -> None:
    """Show where the database is and whether it answers.

    With LABELLENS_DATABASE_URI set, pings that server (exit code 1 when it does
    not answer); otherwise shows the embedded mongod's URI, pid, data folder and
    whether it asks for a password, or "not running". Passwords show as ``***``.
    """
    uri = config.database_uri()
    if uri:
        database.get_client(uri)
        click.echo(f"uri:       {config.redact(uri)}")
        click.echo(f"database:  {config.database_name()}")
        click.echo("status:    reachable")
        return
    info = mongod.running_server()
    if info is None:
        click.echo(f"embedded mongod: not running (data dir {config.database_dir()})")
        return
    click.echo(f"uri:       {info.display_uri}")
    click.echo(f"pid:       {info.pid}")
    click.echo(f"data dir:  {info.dbpath}")
    click.echo(f"database:  {config.database_name()}")
    if info.credentials is not None:
        stored = Path(info.dbpath) / mongod.CREDENTIALS_FILE
        click.echo(f"auth:      on (user {info.credentials.username}, password in {stored})")
    else:
        click.echo("auth:      OFF (started by an older labellens; `labellens db start` restarts it with "
                   "authentication)")


@db.command()
def start() -> None:
    """Start the embedded mongod (no-op when it is already running)."""
    _embedded_only("start")
    info = mongod.ensure_server()
    click.echo(f"embedded mongod running at {info.display_uri} (pid {info.pid}, data dir {info.dbpath}, "
               "auth on)")


@db.command()
def stop() -> None:
    """Shut the embedded mongod down cleanly."""
    _embedded_only("stop")
    database.close_clients()
    if mongod.stop_server():
        click.echo("embedded mongod stopped")
    else:
        click.echo("embedded mongod: not running")


def _embedded_only(action: str) -> None:
    uri = config.database_uri()
    if uri:
        raise ValidationError(f"LABELLENS_DATABASE_URI is set ({config.redact(uri)}): "
                              f"`labellens db {action}` manages only the embedded mongod; unset it, or "
                              "manage that server yourself")
