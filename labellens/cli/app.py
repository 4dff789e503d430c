"""``labellens app``: the browser App."""

from __future__ import annotations

import click

import labellens as ll
from labellens.cli.common import require
from labellens.dataset.collection import SampleCollection


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
@click.option("--no-browser", is_flag=True, help="Do not open a browser tab.")
def launch(name: str | None, port: int, address: str, saved_view: str | None, sort_by: str | None,
           token: str | None, no_browser: bool) -> None:
    """Serve the App for dataset NAME (or pick one in the App) until Ctrl-C."""
    target: SampleCollection | None = None
    if name:
        target = ll.load_dataset(name)
        if saved_view:
            target = target.dataset.load_saved_view(saved_view)
        if sort_by:
            target = target.sort_by(sort_by, reverse=True)
    launch_app = require("labellens.session", "launch_app")
    session = launch_app(target, port=port, address=address, auto=not no_browser, token=token or None)
    click.echo("serving until Ctrl-C")
    try:
        session.wait()
    finally:
        session.close()
