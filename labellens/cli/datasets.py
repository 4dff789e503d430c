"""``labellens datasets``: list, inspect, delete, export for review and import reviewed labels."""

from __future__ import annotations

from pathlib import Path

import click

import labellens as ll
from labellens.cli.common import echo_table
from labellens.dataset.collection import SampleCollection
from labellens.dataset.exporters import FORMATS, export_view, import_labels


@click.group()
def datasets() -> None:
    """Datasets in the database."""


@datasets.command("list")
@click.option("--glob", default=None, help="Only names matching this pattern, e.g. 'cifar*'.")
@click.option("-l", "--long", "long_", is_flag=True, help="Also show sample counts and persistence.")
def list_(glob: str | None, long_: bool) -> None:
    """List the datasets, one name per line."""
    names = ll.list_datasets(glob)
    if not long_:
        for name in names:
            click.echo(name)
        return
    rows = []
    for name in names:
        dataset = ll.load_dataset(name)
        rows.append((name, str(len(dataset)), "yes" if dataset.persistent else "no"))
    echo_table(rows, ("name", "samples", "persistent"))


@datasets.command()
@click.argument("name")
def info(name: str) -> None:
    """Show a dataset's summary: count, tags, fields, classes, brain runs and saved views."""
    dataset = ll.load_dataset(name)
    click.echo(str(dataset))
    click.echo(f"Classes:        {dataset.default_classes}")
    click.echo(f"Brain runs:     {dataset.list_brain_runs()}")
    click.echo(f"Saved views:    {dataset.list_saved_views()}")


@datasets.command()
@click.argument("name")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
def delete(name: str, yes: bool) -> None:
    """Delete a dataset and its samples."""
    dataset = ll.load_dataset(name)
    if not yes:
        click.confirm(f"Delete dataset {name!r} and its {len(dataset)} samples?", abort=True)
    dataset.delete()
    click.echo(f"deleted dataset {name!r}")


@datasets.command()
@click.argument("name")
@click.argument("export_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "format_", type=click.Choice(FORMATS), default="csv", show_default=True,
              help="csv / json files, or a copy of the images in one folder per label.")
@click.option("--label-field", default="ground_truth", show_default=True, help="The ground-truth field.")
@click.option("--pred-field", default=None, help="A predictions field to include.")
@click.option("--score-field", "score_fields", multiple=True,
              help="A score field to include, e.g. mistakenness (repeatable).")
@click.option("--view", "saved_view", default=None, help="Export this saved view of the dataset.")
@click.option("--tags", multiple=True, help="Only samples with any of these tags (repeatable).")
@click.option("--sort-by", default=None, help="Sort by this field, highest first (e.g. mistakenness).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N samples.")
def export(name: str, export_dir: Path, format_: str, label_field: str, pred_field: str | None,
           score_fields: tuple[str, ...], saved_view: str | None, tags: tuple[str, ...],
           sort_by: str | None, limit: int | None) -> None:
    """Export samples of dataset NAME to EXPORT_DIR for review by annotators.

    For example, the 100 most likely mistakes:
    labellens datasets export cifar10-test review/ --pred-field resnet56
    --score-field mistakenness --sort-by mistakenness --limit 100
    """
    dataset = ll.load_dataset(name)
    view: SampleCollection = dataset.load_saved_view(saved_view) if saved_view else dataset
    if tags:
        view = view.match_tags(list(tags))
    if sort_by:
        view = view.sort_by(sort_by, reverse=True)
    if limit:
        view = view.limit(limit)
    path = export_view(view, export_dir, format_, label_field=label_field, pred_field=pred_field,  # type: ignore[arg-type]
                       score_fields=list(score_fields))
    click.echo(f"exported {len(view)} samples to {path}")


@datasets.command("import-labels")
@click.argument("name")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--label-field", default="ground_truth", show_default=True, help="The field to update.")
@click.option("--tag", default="reviewed", show_default=True, help="Tag the samples whose label changed.")
def import_labels_(name: str, path: Path, label_field: str, tag: str) -> None:
    """Read reviewed labels (an export, edited) back into dataset NAME by sample id."""
    summary = import_labels(ll.load_dataset(name), path, label_field=label_field, tag=tag)
    click.echo(str(summary))
