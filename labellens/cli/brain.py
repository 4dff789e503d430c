"""``labellens brain``: mistake scores written back to a dataset."""

from __future__ import annotations

import click

import labellens as ll
from labellens.cli.common import require
from labellens.dataset.collection import SampleCollection


@click.group()
def brain() -> None:
    """Scores for likely label mistakes, computed from a predictions field."""


def _samples(name: str, tags: tuple[str, ...]) -> SampleCollection:
    dataset = ll.load_dataset(name)
    return dataset.match_tags(list(tags)) if tags else dataset


@brain.command()
@click.argument("name")
@click.option("--pred-field", required=True, help="The predictions field (a Classification).")
@click.option("--label-field", default="ground_truth", show_default=True, help="The ground-truth field.")
@click.option("--field", "out_field", default="mistakenness", show_default=True, help="Field to write.")
@click.option("--use-logits/--use-confidence", default=True, show_default=True,
              help="Score from the predictions' logits or from their confidence.")
@click.option("--tags", multiple=True, help="Only samples with any of these tags (repeatable).")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
def mistakenness(name: str, pred_field: str, label_field: str, out_field: str, use_logits: bool,
                 tags: tuple[str, ...], no_progress: bool) -> None:
    """Compute the tutorial's mistakenness score on dataset NAME."""
    samples = _samples(name, tags)
    require("labellens.brain", "compute_mistakenness")(
        samples, pred_field, label_field=label_field, mistakenness_field=out_field,
        use_logits=use_logits, progress=not no_progress)
    click.echo(f"wrote {out_field!r} for {len(samples)} samples of {name!r}; "
               f"sort with: labellens app launch {name} --sort-by {out_field}")


@brain.command("label-issues")
@click.argument("name")
@click.option("--pred-field", required=True, help="The predictions field, with logits.")
@click.option("--label-field", default="ground_truth", show_default=True, help="The ground-truth field.")
@click.option("--embeddings-field", default=None, help="An embeddings field, for neighbour agreement.")
@click.option("--field", "out_field", default="label_issue", show_default=True,
              help="Score field to write (in [0, 1], higher = more likely mislabelled).")
@click.option("--tags", multiple=True, help="Only samples with any of these tags (repeatable).")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
def label_issues(name: str, pred_field: str, label_field: str, embeddings_field: str | None,
                 out_field: str, tags: tuple[str, ...], no_progress: bool) -> None:
    """Find likely label issues on dataset NAME (scores, flags and suggested labels)."""
    samples = _samples(name, tags)
    summary = require("labellens.brain", "compute_label_issues")(
        samples, pred_field, label_field=label_field, embeddings_field=embeddings_field,
        score_field=out_field, progress=not no_progress)
    click.echo(str(summary))
    click.echo(f"wrote {out_field!r} for {len(samples)} samples of {name!r}; "
               f"sort with: labellens app launch {name} --sort-by {out_field}")
