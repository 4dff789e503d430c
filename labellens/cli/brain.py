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
    summary = require("labellens.brain", "compute_mistakenness")(
        samples, pred_field, label_field=label_field, mistakenness_field=out_field,
        use_logits=use_logits, progress=not no_progress)
    click.echo(f"wrote {', '.join(map(repr, summary.fields))} for {len(samples)} samples of {name!r}; "
               f"sort with: labellens app launch {name} --sort-by {summary.brain_key}")


@brain.command("label-issues")
@click.argument("name")
@click.option("--pred-field", multiple=True,
              help="Predictions field with logits (repeatable: several are averaged, e.g. flipped images); "
                   "with --model, the field the model's predictions are written to.")
@click.option("--model", "model_name", default=None,
              help="A zoo model (e.g. cifar10-resnet56) that first predicts and embeds the samples.")
@click.option("--tta", type=click.Choice(["flip", "none"]), default="flip", show_default=True,
              help="Test-time augmentation of --model's predictions and embeddings.")
@click.option("--fine-tune", "fine_tune", type=click.IntRange(min=0), default=0, show_default=True,
              metavar="EPOCHS", help="With --model: fine-tune it for EPOCHS per fold (5 folds) and predict "
                                     "each fold out of sample, instead of predicting with it as it is.")
@click.option("--extra-train", default=None, metavar="DATASET",
              help="With --fine-tune: a dataset (e.g. a train split) added to every fold's training.")
@click.option("--label-field", default="ground_truth", show_default=True, help="The ground-truth field.")
@click.option("--embeddings-field", multiple=True,
              help="Embeddings field (repeatable, averaged); alone, without predictions, out-of-sample "
                   "predictions are fitted on it.")
@click.option("--field", "out_field", default="label_issue", show_default=True,
              help="Score field to write (in [0, 1], higher = more likely mislabelled).")
@click.option("--tags", multiple=True, help="Only samples with any of these tags (repeatable).")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
def label_issues(name: str, pred_field: tuple[str, ...], model_name: str | None, tta: str, fine_tune: int,
                 extra_train: str | None, label_field: str, embeddings_field: tuple[str, ...], out_field: str,
                 tags: tuple[str, ...], no_progress: bool) -> None:
    """Find likely label issues on dataset NAME (scores, flags and suggested labels).

    Give predictions (--pred-field), a zoo model to predict with (--model), or
    only embeddings (--embeddings-field).
    """
    samples = _samples(name, tags)
    preds, embeds = list(pred_field), list(embeddings_field)
    if (fine_tune or extra_train) and model_name is None:
        raise click.UsageError("--fine-tune and --extra-train need --model")
    if extra_train and not fine_tune:
        raise click.UsageError("--extra-train needs --fine-tune EPOCHS")
    if model_name is not None:
        preds, embeds = _predict(samples, model_name, preds, embeds, None if tta == "none" else tta,
                                 fine_tune=fine_tune, extra_train=extra_train, label_field=label_field,
                                 progress=not no_progress)
    if not preds and not embeds:
        raise click.UsageError("pass --pred-field, --model or --embeddings-field")
    summary = require("labellens.brain", "compute_label_issues")(
        samples, preds or None, label_field=label_field, embeddings_field=embeds or None,
        score_field=out_field, progress=not no_progress)
    click.echo(str(summary))
    click.echo(f"wrote {', '.join(map(repr, summary.fields))} for {len(samples)} samples of {name!r}; "
               f"sort with: labellens app launch {name} --sort-by {summary.brain_key}")


def _predict(samples: SampleCollection, model_name: str, preds: list[str], embeds: list[str],
             tta: str | None, *, fine_tune: int, extra_train: str | None, label_field: str,
             progress: bool) -> tuple[list[str], list[str]]:
    """Run zoo model ``model_name`` (with ``tta``) into one predictions and one embeddings field;
    with ``fine_tune`` epochs, fine-tuned out-of-sample predictions instead."""
    if len(preds) > 1 or len(embeds) > 1:
        raise click.UsageError("with --model, give at most one --pred-field and one --embeddings-field")
    pred = preds[0] if preds else model_name.replace("-", "_")
    embed = embeds[0] if embeds else f"{pred}_embeddings"
    model = require("labellens.zoo", "load_zoo_model")(model_name, progress=progress)
    if fine_tune:
        summary = require("labellens.brain", "compute_out_of_sample_predictions")(
            samples, model=model, label_field=label_field, pred_field=pred, embeddings_output=embed,
            epochs=fine_tune, extra_train=ll.load_dataset(extra_train) if extra_train else None,
            progress=progress)
        click.echo(f"fine-tuned {model_name} out of sample: {summary.agreement:.1%} agree with "
                   f"{label_field!r}")
        return [pred], [embed]
    require("labellens.inference", "apply_model")(samples, model, pred, tta=tta, progress=progress)
    require("labellens.inference", "compute_embeddings")(samples, model, embed, tta=tta, progress=progress)
    return [pred], [embed]
