"""``labellens demo``: the tutorial end to end, offline, with a scorecard.

Loads a dataset (scikit-learn's digits by default, or CIFAR-10), corrupts a
fraction of its labels and tags them ``mistake``, gets out-of-sample predictions
with logits, computes the tutorial's ``mistakenness`` and our ``label_issue``
score, and prints how many of the top-k samples by each score are real mistakes
(k = the number of corrupted labels) and how long each step took. The App then
opens sorted by the better score.

For ``digits``, predictions come from a small torch MLP trained with K-fold
cross-validation on the (corrupted) labels, so every sample is predicted by a
model that never saw it; its pixels serve as embeddings. For ``cifar10``, the
zoo's pretrained CIFAR ResNet predicts and embeds, averaged over each image and
its mirror image (flip test-time augmentation); with ``fine_tune`` it is instead
fine-tuned on the (corrupted) labels in ``FOLDS`` folds and each fold predicted by
the copy that never saw it (``brain.compute_out_of_sample_predictions(model=...)``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from PIL import Image
from sklearn.metrics import average_precision_score

import labellens as ll
from labellens import brain, inference, zoo
from labellens.errors import ValidationError
from labellens.progress import ProgressBar
from labellens.types import ImageClassificationDirectoryTree

DemoDataset = Literal["digits", "cifar10"]
DEFAULT_MODELS = {"digits": "mlp", "cifar10": "cifar10-resnet56"}
PRED_FIELD = "predictions"
EMBEDDINGS_FIELD = "embeddings"
LABEL_FIELD = "ground_truth"
SCORES = ("mistakenness", "label_issue")
MISTAKE_TAG = "mistake"
FOLDS = 5
EPOCHS = 150
TTA = "flip"   # cifar10: logits and embeddings averaged over each image and its mirror image


@dataclass(frozen=True)
class ScoreRow:
    """How well one score ranks the corrupted labels."""

    score: str
    hits: int
    k: int
    average_precision: float

    @property
    def precision(self) -> float:
        return self.hits / self.k if self.k else 0.0


@dataclass
class DemoResult:
    """What the demo did: the dataset, step timings (seconds) and the scorecard."""

    dataset: ll.Dataset
    num_mistakes: int
    estimated_issues: float
    timings: dict[str, float] = field(default_factory=dict)
    rows: list[ScoreRow] = field(default_factory=list)

    @property
    def best(self) -> ScoreRow:
        return max(self.rows, key=lambda row: row.average_precision)

    def table(self) -> str:
        """The scorecard and the time each step took, as plain text."""
        k = self.num_mistakes
        lines = [f"{len(self.dataset)} samples, {k} corrupted labels (tag {MISTAKE_TAG!r}); "
                 f"label issues estimates {self.estimated_issues:.0f} wrong labels", "",
                 f"{'score':<14}{f'real mistakes in top {k}':>26}{'precision':>11}{'AP':>8}"]
        for row in self.rows:
            lines.append(f"{row.score:<14}{f'{row.hits} / {row.k}':>26}{row.precision:>11.3f}"
                         f"{row.average_precision:>8.3f}")
        width = max(len(step) for step in ["step", *self.timings]) + 2
        lines += ["", f"{'step':<{width}}{'time':>9}"]
        lines += [f"{step:<{width}}{seconds:>8.2f}s" for step, seconds in self.timings.items()]
        return "\n".join(lines)


def run_demo(dataset: DemoDataset = "digits", *, model: str | None = None, mistakes: float = 0.1,
             seed: int = 51, dataset_dir: str | Path | None = None, fine_tune: int = 0,
             progress: bool = True, echo: Callable[[str], Any] = print) -> DemoResult:
    """Run the demo and return its result (the App is opened by the caller).

    Parameters
    ----------
    dataset : {"digits", "cifar10"}
        ``digits`` is offline; ``cifar10`` loads the zoo's test split, or the
        image-classification directory tree ``dataset_dir`` when given.
    model : str, optional
        ``mlp`` for digits; a zoo model for cifar10 (default ``cifar10-resnet56``).
    mistakes : float
        Fraction of labels to corrupt, in (0, 1).
    fine_tune : int
        cifar10: fine-tune the zoo model for this many epochs per fold (0: use it as it is).
    """
    if dataset not in DEFAULT_MODELS:
        raise ValidationError(f"unknown demo dataset {dataset!r}; use digits or cifar10")
    if not 0 < mistakes < 1:
        raise ValidationError(f"--mistakes must be a fraction between 0 and 1, got {mistakes}")
    model = model or DEFAULT_MODELS[dataset]
    if dataset == "digits" and model != "mlp":
        raise ValidationError(f"the digits demo trains its own model; use --model mlp, not {model!r}")
    if isinstance(fine_tune, bool) or not isinstance(fine_tune, int) or fine_tune < 0:
        raise ValidationError(f"fine_tune must be a number of epochs >= 0, got {fine_tune!r}")
    if dataset == "digits" and fine_tune:
        raise ValidationError("the digits demo already cross-fits its own mlp; --fine-tune is for cifar10")
    timings: dict[str, float] = {}
    with _timed(timings, f"load {dataset}", echo):
        demo = _load(dataset, dataset_dir, progress)
    with _timed(timings, f"corrupt {mistakes:.0%} of the labels", echo):
        num_mistakes = corrupt_labels(demo, mistakes, seed=seed)
    if dataset == "digits":
        with _timed(timings, f"predict ({FOLDS}-fold cross-validated mlp)", echo):
            _predict_digits(demo, seed=seed, progress=progress)
    elif fine_tune:
        with _timed(timings, f"fine-tune {model} ({fine_tune} epochs, {FOLDS} folds) and predict", echo):
            brain.compute_out_of_sample_predictions(
                demo, model=zoo.load_zoo_model(model), label_field=LABEL_FIELD, pred_field=PRED_FIELD,
                embeddings_output=EMBEDDINGS_FIELD, num_folds=FOLDS, epochs=fine_tune, seed=seed,
                progress=progress)
    else:
        with _timed(timings, f"predict ({model}) with {TTA} test-time augmentation", echo):
            _predict_zoo(demo, model, progress=progress)
    with _timed(timings, "compute mistakenness", echo):
        brain.compute_mistakenness(demo, PRED_FIELD, label_field=LABEL_FIELD, use_logits=True,
                                   progress=progress)
    with _timed(timings, "compute label issues", echo):
        issues = brain.compute_label_issues(demo, PRED_FIELD, label_field=LABEL_FIELD,
                                            embeddings_field=EMBEDDINGS_FIELD, progress=progress)
    result = DemoResult(demo, num_mistakes, issues.estimated_issues, timings)
    result.rows = score_rows(demo, num_mistakes)
    return result


@contextmanager
def _timed(timings: dict[str, float], step: str, echo: Callable[[str], Any]) -> Iterator[None]:
    echo(f"{step}...")
    start = time.perf_counter()
    yield
    timings[step] = time.perf_counter() - start


def _load(name: DemoDataset, dataset_dir: str | Path | None, progress: bool) -> ll.Dataset:
    """A fresh persistent dataset ``demo-<name>``, so the zoo's own copy stays clean."""
    demo_name = f"demo-{name}"
    if dataset_dir is None:
        split = "test" if name == "cifar10" else None
        return zoo.load_zoo_dataset(name, split, dataset_name=demo_name, overwrite=True, progress=progress)
    return ll.Dataset.from_dir(dataset_dir, dataset_type=ImageClassificationDirectoryTree, name=demo_name,
                               persistent=True, overwrite=True)


def corrupt_labels(dataset: ll.Dataset, fraction: float, *, seed: int) -> int:
    """Change ``fraction`` of the labels to another class at random and tag them ``mistake``."""
    classes = dataset.default_classes
    if len(classes) < 2:
        raise ValidationError(f"dataset {dataset.name!r} needs at least 2 default_classes to corrupt")
    count = int(fraction * len(dataset))
    if count < 1:
        raise ValidationError(f"{fraction} of {len(dataset)} samples is no label at all; "
                              "corrupt a larger fraction")
    view = dataset.take(count, seed=seed)
    ids = view.values("id")
    labels = view.values(f"{LABEL_FIELD}.label")
    rng = np.random.default_rng(seed)
    new_labels = [other_class(label, classes, rng) for label in labels]
    dataset.set_values(f"{LABEL_FIELD}.label", new_labels, ids=ids)
    dataset.select(ids).tag_samples(MISTAKE_TAG)
    return len(ids)


def other_class(label: str, classes: list[str], rng: np.random.Generator) -> str:
    """A class drawn uniformly from ``classes`` other than ``label``."""
    choices = [c for c in classes if c != label]
    return choices[int(rng.integers(len(choices)))]


def _predict_digits(dataset: ll.Dataset, *, seed: int, progress: bool) -> None:
    """Out-of-sample logits from a K-fold cross-validated MLP on the 8x8 pixels."""
    classes = dataset.default_classes
    ids = dataset.values("id")
    paths = dataset.values("filepath")
    with ProgressBar(desc="read images", unit="img", enabled=progress) as bar:
        pixels = np.stack([_digit_pixels(p) for p in bar(paths)])
    index = {c: i for i, c in enumerate(classes)}
    targets = np.array([index[label] for label in dataset.values(f"{LABEL_FIELD}.label")])
    logits = cross_val_logits(pixels, targets, len(classes), seed=seed, progress=progress)
    predictions = inference.to_classifications(logits, classes)
    dataset.set_values(PRED_FIELD, predictions, ids=ids)
    dataset.set_values(EMBEDDINGS_FIELD, list(pixels), ids=ids)


def _digit_pixels(path: str) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("L").resize((8, 8), Image.Resampling.BOX),
                          dtype=np.float32).ravel() / 255.0


def cross_val_logits(features: np.ndarray, targets: np.ndarray, num_classes: int, *, seed: int,
                     folds: int = FOLDS, progress: bool = False) -> np.ndarray:
    """(N, K) logits where each row comes from a model trained on the other folds."""
    rng = np.random.default_rng(seed)
    fold_of = rng.permutation(len(targets)) % folds
    logits = np.zeros((len(targets), num_classes), dtype=np.float32)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a model this small trains fastest on one thread
    try:
        with ProgressBar(desc="cross-validation folds", unit="fold", enabled=progress) as bar:
            for fold in bar(range(folds)):
                train, test = fold_of != fold, fold_of == fold
                model = _train_mlp(features[train], targets[train], num_classes, seed=seed + fold)
                with torch.inference_mode():
                    logits[test] = model(torch.from_numpy(features[test])).numpy()
    finally:
        torch.set_num_threads(threads)
    return logits


def _train_mlp(features: np.ndarray, targets: np.ndarray, num_classes: int, *,
               seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(features.shape[1], 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, num_classes))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-3)
    x, y = torch.from_numpy(features), torch.from_numpy(targets).long()
    for _ in range(EPOCHS):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    return model.eval()


def _predict_zoo(dataset: ll.Dataset, model_name: str, *, progress: bool) -> None:
    model = zoo.load_zoo_model(model_name)
    inference.apply_model(dataset, model, PRED_FIELD, progress=progress, tta=TTA)
    inference.compute_embeddings(dataset, model, embeddings_field=EMBEDDINGS_FIELD, progress=progress,
                                 tta=TTA)


def score_rows(dataset: ll.Dataset, k: int) -> list[ScoreRow]:
    """Precision of the top ``k`` and average precision of each score against the ``mistake`` tag."""
    truth = np.array([MISTAKE_TAG in (tags or []) for tags in dataset.values("tags")])
    rows = []
    for name in SCORES:
        scores = np.nan_to_num(dataset.values(name, as_numpy=True), nan=-1.0)
        rows.append(rank_quality(name, scores, truth, k))
    return rows


def rank_quality(name: str, scores: np.ndarray, truth: np.ndarray, k: int) -> ScoreRow:
    """Hits in the top ``k`` by ``scores`` (highest first) and the average precision."""
    top = np.argsort(-scores, kind="stable")[:k]
    ap = float(average_precision_score(truth, scores)) if truth.any() else 0.0
    return ScoreRow(name, int(truth[top].sum()), k, ap)
