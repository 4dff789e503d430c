"""``labellens zoo``: the datasets and models labellens can load by name."""

from __future__ import annotations

import click

from labellens.cli.common import require
from labellens.errors import ValidationError


@click.group()
def zoo() -> None:
    """Ready-made datasets and pretrained models."""


@zoo.command("datasets")
def datasets_() -> None:
    """List the zoo's datasets."""
    for name in require("labellens.zoo", "list_zoo_datasets")():
        click.echo(name)


@zoo.command()
def models() -> None:
    """List the zoo's models."""
    for name in require("labellens.zoo", "list_zoo_models")():
        click.echo(name)


@zoo.command()
@click.argument("name")
@click.option("--split", default=None, help="For datasets with splits, e.g. test or train.")
def download(name: str, split: str | None) -> None:
    """Download (or find in the cache) the zoo dataset or model NAME."""
    if name in require("labellens.zoo", "list_zoo_models")():
        require("labellens.zoo", "load_zoo_model")(name)
        click.echo(f"model {name!r} is in the cache")
        return
    if name not in require("labellens.zoo", "list_zoo_datasets")():
        raise ValidationError(f"no zoo dataset or model {name!r}; see `labellens zoo datasets` "
                              "and `labellens zoo models`")
    dataset = require("labellens.zoo", "load_zoo_dataset")(name, split)
    click.echo(f"dataset {dataset.name!r} is ready ({len(dataset)} samples)")
