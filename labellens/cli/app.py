"""``labellens app``: the browser App."""

from __future__ import annotations

from pathlib import Path

import click

import labellens as ll
from labellens.cli.common import require
from labellens.dataset.collection import SampleCollection
from labellens.errors import LabelLensError


@click.group()
def app() -> None:
    """The browser App for looking at samples, views and likely mistakes."""


@app.command()
@click.argument("name", required=False)
@click.option("--port", type=click.IntRange(0, 65535), default=5151, show_default=True)
@click.option("--address", default="127.0.0.1", show_default=True,
              help="Interface to bind; any other than localhost requires the token printed in the URL.")
@click.option("--view", "saved_view", default=None, help="Open this saved view of the dataset.")
@click.option("--sort-by", default=None, help="Sort by this field, highest first (e.g. mistakenness).")
@click.option("--token", envvar="LABELLENS_APP_TOKEN", default=None,
              help="Secret for non-local addresses (default: generated). Env: LABELLENS_APP_TOKEN.")
@click.option("--reviewers", default=None, metavar="NAMES",
              help="Comma-separated reviewer names (e.g. alice,bob): each gets its own URL and token, and "
                   "the label history records the name from the token. Every request then needs a token.")
@click.option("--reviewers-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="A UTF-8 text file of reviewer names, one per line (blank lines skipped); adds to "
                   "--reviewers.")
@click.option("--no-browser", is_flag=True, help="Do not open a browser tab.")
def launch(name: str | None, port: int, address: str, saved_view: str | None, sort_by: str | None,
           token: str | None, reviewers: str | None, reviewers_file: Path | None, no_browser: bool) -> None:
    """Serve the App for dataset NAME (or pick one in the App) until Ctrl-C.

    With --reviewers / --reviewers-file it prints one URL per reviewer (1-64
    printable characters per name, each name once); send each reviewer only theirs.
    """
    names = _reviewer_names(reviewers, reviewers_file)
    target: SampleCollection | None = None
    if name:
        target = ll.load_dataset(name)
        if saved_view:
            target = target.dataset.load_saved_view(saved_view)
        if sort_by:
            target = target.sort_by(sort_by, reverse=True)
    launch_app = require("labellens.session", "launch_app")
    session = launch_app(target, port=port, address=address, auto=not no_browser, token=token or None,
                         reviewers=names)
    click.echo("serving until Ctrl-C")
    try:
        session.wait()
    finally:
        session.close()


def _reviewer_names(listed: str | None, path: Path | None) -> list[str] | None:
    """The names given by --reviewers and --reviewers-file, checked; None when neither is given."""
    if listed is None and path is None:
        return None
    hint = "'--reviewers' / '--reviewers-file'"
    names = [part.strip() for part in listed.split(",")] if listed is not None else []
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise click.BadParameter(f"{path} is not UTF-8 text", param_hint=hint) from None
        names += [line.strip() for line in text.splitlines() if line.strip()]
    check = require("labellens.server.identity", "check_reviewer_names")
    try:
        return check(names)
    except LabelLensError as exc:
        raise click.BadParameter(str(exc), param_hint=hint) from None
