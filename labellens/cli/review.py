"""``labellens review NAME``: the App in review mode."""

from __future__ import annotations

import click

import labellens as ll
from labellens.cli.common import require
from labellens.dataset.collection import SampleCollection


@click.command()
@click.argument("name")
@click.option("--label-field", default="ground_truth", show_default=True,
              help="The Classification field whose labels the decisions change.")
@click.option("--order-by", default=None,
              help="Score to review by, highest first (default: the App's default sort: label_issue, else "
                   "mistakenness, ... else the first numeric field).")
@click.option("--view", "saved_view", default=None, help="Review this saved view of the dataset.")
@click.option("--tag", "tags", multiple=True, help="Only samples with this tag (repeatable).")
@click.option("--include-reviewed", is_flag=True, help="Also queue samples already tagged 'reviewed'.")
@click.option("--port", type=click.IntRange(0, 65535), default=5151, show_default=True)
@click.option("--address", default="127.0.0.1", show_default=True,
              help="Interface to bind; any other than localhost requires the token printed in the URL.")
@click.option("--token", envvar="LABELLENS_APP_TOKEN", default=None,
              help="Secret for non-local addresses (default: generated). Env: LABELLENS_APP_TOKEN.")
@click.option("--no-browser", is_flag=True, help="Do not open a browser tab.")
def review(name: str, label_field: str, order_by: str | None, saved_view: str | None, tags: tuple[str, ...],
           include_reviewed: bool, port: int, address: str, token: str | None, no_browser: bool) -> None:
    """Review the labels of dataset NAME in the App, most likely mistakes first, until Ctrl-C.

    Reviewer names in the label history come from LABELLENS_REVIEWER, else the OS user.
    """
    target: SampleCollection = ll.load_dataset(name)
    if saved_view:
        target = target.dataset.load_saved_view(saved_view)
    if tags:
        target = target.match_tags(list(tags))
    open_review = require("labellens.review_mode", "review")
    session = open_review(target, label_field, order_by=order_by, include_reviewed=include_reviewed,
                          port=port, address=address, auto=not no_browser, token=token or None)
    click.echo("reviewing until Ctrl-C; decisions are saved as you make them")
    try:
        session.wait()
    finally:
        session.close()
