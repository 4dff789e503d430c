"""``labellens demo``: the tutorial end to end on a machine with no network."""

from __future__ import annotations

from pathlib import Path

import click

from labellens.cli.common import require


@click.command()
@click.option("--dataset", "dataset_name", type=click.Choice(["digits", "cifar10"]), default="digits",
              show_default=True, help="digits is offline; cifar10 needs the zoo archive or --dataset-dir.")
@click.option("--dataset-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="An image-classification directory tree to use instead of the zoo.")
@click.option("--model", default=None,
              help="mlp for digits (the default); a zoo model for cifar10 (default cifar10-resnet56).")
@click.option("--mistakes", type=float, default=0.1, show_default=True,
              help="Fraction of labels to corrupt.")
@click.option("--seed", type=int, default=51, show_default=True, help="Random seed.")
@click.option("--fine-tune", "fine_tune", type=click.IntRange(min=0), default=0, show_default=True,
              metavar="EPOCHS", help="cifar10: fine-tune the model for EPOCHS per fold on the other folds "
                                     "and predict each fold out of sample (0: use the model as it is).")
@click.option("--no-app", is_flag=True, help="Print the scorecard and exit without opening the App.")
@click.option("--port", type=click.IntRange(0, 65535), default=5151, show_default=True,
              help="App port.")
@click.option("--no-progress", is_flag=True, help="Hide progress bars.")
def demo(dataset_name: str, dataset_dir: Path | None, model: str | None, mistakes: float, seed: int,
         fine_tune: int, no_app: bool, port: int, no_progress: bool) -> None:
    """Corrupt labels, predict, score and check how many real mistakes each score finds."""
    result = require("labellens.demo", "run_demo")(dataset_name, model=model, mistakes=mistakes, seed=seed,
                                  dataset_dir=dataset_dir, fine_tune=fine_tune, progress=not no_progress,
                                  echo=click.echo)
    click.echo("")
    click.echo(result.table())
    if no_app:
        return
    best = result.best.score
    session = require("labellens.session", "launch_app")(
        result.dataset.sort_by(best, reverse=True), port=port)
    click.echo(f"App at {session.url}, sorted by {best!r} (Ctrl-C to stop)")
    try:
        session.wait()
    finally:
        session.close()
