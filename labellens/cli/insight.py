"""``labellens brain issues`` / ``brain visualize`` and ``labellens evaluate``: seeing the whole dataset."""

from __future__ import annotations

import click

import labellens as ll
from labellens.cli.common import echo_table, require
from labellens.dataset.collection import SampleCollection


def _samples(name: str, tags: tuple[str, ...]) -> SampleCollection:
    dataset = ll.load_dataset(name)
    return dataset.match_tags(list(tags)) if tags else dataset


@click.command("issues")
@click.argument("name")
@click.option("--pred-field", default=None, help="Predictions with logits, for label issues.")
@click.option("--label-field", default="ground_truth", show_default=True, help="The ground-truth field.")
@click.option("--embeddings-field", default=None, help="Embeddings, for outliers and near duplicates.")
@click.option("--no-image-quality", is_flag=True, help="Skip the image checks (they read each file).")
@click.option("--tags", multiple=True, help="Only samples with any of these tags (repeatable).")
@click.option("--no-progress", is_flag=True, help="Hide the progress bars.")
def issues(name: str, pred_field: str | None, label_field: str, embeddings_field: str | None,
           no_image_quality: bool, tags: tuple[str, ...], no_progress: bool) -> None:
    """Run every data-issue check that applies to dataset NAME and print one report."""
    report = require("labellens.brain.find_issues", "find_issues")(
        _samples(name, tags), pred_field=pred_field, label_field=label_field,
        embeddings_field=embeddings_field, image_quality=not no_image_quality, progress=not no_progress)
    click.echo(str(report))
    click.echo(f"open one in the App: labellens app launch {name} (Issues panel)")


@click.command("visualize")
@click.argument("name")
@click.option("--embeddings-field", required=True, help="The embeddings to map to 2-D.")
@click.option("--method", type=click.Choice(["umap", "tsne", "pca"]), default="umap", show_default=True)
@click.option("--brain-key", default="viz", show_default=True, help="Field (and brain run) for the points.")
@click.option("--seed", default=0, show_default=True, type=int)
def visualize(name: str, embeddings_field: str, method: str, brain_key: str, seed: int) -> None:
    """Compute 2-D points of an embeddings field of dataset NAME for the App's embeddings map."""
    summary = require("labellens.brain", "compute_visualization")(
        ll.load_dataset(name), embeddings_field, method=method, brain_key=brain_key, seed=seed)
    click.echo(f"wrote {summary.num_points} points to {brain_key!r} ({method})")


@click.group()
def evaluate() -> None:
    """Evaluate predictions against the ground truth (reports, confusion matrices)."""


@evaluate.command("classifications")
@click.argument("name")
@click.option("--pred-field", required=True, help="The predictions field (a Classification).")
@click.option("--gt-field", default="ground_truth", show_default=True, help="The ground-truth field.")
@click.option("--eval-key", default="eval", show_default=True, help="Correctness field and run key.")
@click.option("--tags", multiple=True, help="Only samples with any of these tags (repeatable).")
def classifications(name: str, pred_field: str, gt_field: str, eval_key: str, tags: tuple[str, ...]) -> None:
    """Evaluate PRED_FIELD against GT_FIELD on dataset NAME and print the report."""
    results = require("labellens.evaluation", "evaluate_classifications")(
        _samples(name, tags), pred_field, gt_field=gt_field, eval_key=eval_key)
    results.print_report()


@evaluate.command("list")
@click.argument("name")
def list_evaluations(name: str) -> None:
    """List the evaluation runs of dataset NAME."""
    dataset = ll.load_dataset(name)
    rows = []
    for key in require("labellens.evaluation", "list_evaluations")(dataset):
        results = require("labellens.evaluation", "load_evaluation_results")(dataset, key)
        rows.append((key, results.pred_field, results.gt_field, f"{results.accuracy:.4f}"))
    echo_table(rows, ("key", "pred_field", "gt_field", "accuracy"))


@evaluate.command("delete")
@click.argument("name")
@click.argument("eval_key")
def delete_evaluation(name: str, eval_key: str) -> None:
    """Delete evaluation EVAL_KEY of dataset NAME and its field."""
    require("labellens.evaluation", "delete_evaluation")(ll.load_dataset(name), eval_key)
    click.echo(f"deleted evaluation {eval_key!r}")


BRAIN_COMMANDS = (issues, visualize)
