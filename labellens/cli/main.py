"""The ``labellens`` entry point: the root command group and its subcommands."""

from __future__ import annotations

import click

from labellens import __version__
from labellens.cli.annotation import annotate, load_annotations
from labellens.cli.app import app
from labellens.cli.brain import brain
from labellens.cli.common import LabelLensGroup
from labellens.cli.datasets import datasets
from labellens.cli.db import db
from labellens.cli.demo import demo
from labellens.cli.insight import BRAIN_COMMANDS, evaluate
from labellens.cli.review import review
from labellens.cli.zoo import zoo


@click.group(cls=LabelLensGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="labellens")
def cli() -> None:
    """labellens: find and fix label mistakes in image datasets.

    The database is the embedded mongod (started on first use) unless
    LABELLENS_DATABASE_URI points at another MongoDB server.
    """


for command in (datasets, app, review, demo, brain, zoo, db, annotate, load_annotations, evaluate):
    cli.add_command(command)
for command in BRAIN_COMMANDS:
    brain.add_command(command)


def main() -> None:
    """Run the command line (the ``labellens`` console script)."""
    cli(prog_name="labellens")
