"""``labellens annotate`` / ``labellens load-annotations``: the annotation-tool round trip."""

from __future__ import annotations

import json
from pathlib import Path

import click

import labellens as ll


@click.command()
@click.argument("name")
@click.option("--anno-key", required=True, help="Name of the annotation run.")
@click.option("--view-json", help="A view (JSON text or a file holding it) to send; default: the dataset.")
@click.option("--backend", default="labelstudio", show_default=True)
@click.option("--label-field", default="ground_truth", show_default=True)
@click.option("--classes", help="Comma-separated classes; default: the labels found.")
@click.option("--preannotate", default="label_issue_suggestion", show_default=True,
              help="Field offered as the pre-annotation ('' for the current label).")
@click.option("--project-name", help="Project title on the tool.")
@click.option("--local-files-root", help="Serve images through Label Studio's local-files storage under this "
              "root (Label Studio on this machine); default: upload them.")
@click.option("--url", envvar="LABELLENS_LABELSTUDIO_URL", help="Tool URL [env LABELLENS_LABELSTUDIO_URL].")
def annotate(name: str, anno_key: str, view_json: str | None, backend: str, label_field: str,
             classes: str | None, preannotate: str, project_name: str | None, local_files_root: str | None,
             url: str | None) -> None:
    """Send dataset NAME (or a view of it) to annotators as run ANNO_KEY.

    The API key comes from LABELLENS_LABELSTUDIO_API_KEY (never from the command line).
    """
    dataset = ll.load_dataset(name)
    samples = dataset
    if view_json:
        text = Path(view_json).read_text() if Path(view_json).is_file() else view_json
        samples = dataset.view_from_json(json.loads(text))
    config = samples.annotate(anno_key, backend=backend, label_field=label_field, url=url,
                              classes=classes.split(",") if classes else None,
                              preannotate=preannotate or None, project_name=project_name,
                              local_files_root=local_files_root)
    click.echo(f"sent {config['num_tasks']} samples of {name!r} to {backend} project {config['project_id']} "
               f"(images: {config['image_path']}); read back with: "
               f"labellens load-annotations {name} {anno_key}")


@click.command("load-annotations")
@click.argument("name")
@click.argument("anno_key")
@click.option("--dest-field", help="Write labels here instead of the run's label field.")
@click.option("--url", envvar="LABELLENS_LABELSTUDIO_URL", help="Tool URL [env LABELLENS_LABELSTUDIO_URL].")
def load_annotations(name: str, anno_key: str, dest_field: str | None, url: str | None) -> None:
    """Write the finished labels of run ANNO_KEY back into dataset NAME."""
    counts = ll.load_dataset(name).load_annotations(anno_key, dest_field=dest_field, url=url)
    click.echo(f"imported {counts['imported']} ({counts['changed']} changed labels), "
               f"{counts['unchanged']} already imported, {counts['unfinished']} unfinished tasks left alone")
