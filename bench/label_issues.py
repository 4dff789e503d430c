"""Label-issue quality in the tutorial's scenario: how many real mistakes each score finds.

    LABELLENS_MODEL_DIR=../shared/models python bench/label_issues.py [--seeds 0 1 2] [--no-tta]

The shared CIFAR-10 test JPEGs go into a dataset (``Dataset.from_dir``); the zoo's
cifar10-resnet56 predicts them with logits (``apply_model``) and embeds them
(``compute_embeddings``), also on horizontally flipped images for test-time
augmentation. For each seed, exactly 1,000 ground-truth labels are changed
uniformly at random to a different class; each score is then judged against
the mask of changed labels: scikit-learn's average precision (AP), the
precision of the top 1,000, and the estimated number of issues where the score
gives one. Targets (issue 5): label_issue AP >= 0.93 and top-1,000 precision >= 0.86.
"""

from __future__ import annotations

import argparse
import os
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps
from sklearn.metrics import average_precision_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import benchmark_server, print_table  # noqa: E402

import labellens as ll  # noqa: E402
from labellens import brain, inference, zoo  # noqa: E402
from labellens.brain.scores import softmax  # noqa: E402

try:  # optional reference: cleanlab is not a labellens dependency
    from cleanlab import filter as cleanlab_filter
    from cleanlab import rank as cleanlab_rank
except ImportError:
    cleanlab_filter = cleanlab_rank = None

SHARED = Path(__file__).resolve().parents[2] / "shared"
NUM_CHANGED = 1_000


class Flipped:
    """A model's transform applied to the mirrored image (a picklable test-time augmentation)."""

    def __init__(self, transform: Any) -> None:
        self.transform = transform

    def __call__(self, image: Image.Image) -> Any:
        return self.transform(ImageOps.mirror(image))


def corrupt(labels: list[str], classes: list[str], seed: int) -> tuple[list[str], np.ndarray]:
    """Change exactly NUM_CHANGED labels, each to a uniformly chosen different class."""
    rng = np.random.default_rng(seed)
    index = {c: i for i, c in enumerate(classes)}
    changed = rng.choice(len(labels), NUM_CHANGED, replace=False)
    noisy = list(labels)
    for i, shift in zip(changed, rng.integers(1, len(classes), size=NUM_CHANGED)):
        noisy[i] = classes[(index[labels[i]] + int(shift)) % len(classes)]
    mask = np.zeros(len(labels), dtype=bool)
    mask[changed] = True
    return noisy, mask


def judge(score: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    top = np.argsort(-score, kind="stable")[:NUM_CHANGED]
    return float(average_precision_score(mask, score)), float(mask[top].mean())


def predict(dataset: ll.Dataset, tta: bool) -> dict[str, float]:
    """Predictions with logits and embeddings (and their flipped twins); returns timings."""
    model_dir = os.environ.get("LABELLENS_MODEL_DIR", str(SHARED / "models"))
    model = zoo.load_zoo_model("cifar10-resnet56", model_dir=model_dir, download=False, progress=False)
    dataset.default_classes = model.classes
    views = [("", None)] + ([("_flip", Flipped(model.transform))] if tta else [])
    timings = {}
    for suffix, transform in views:
        start = time.perf_counter()
        inference.apply_model(dataset, model, f"predictions{suffix}", store_logits=True, progress=False,
                              transform=transform)
        inference.compute_embeddings(dataset, model, f"embeddings{suffix}", progress=False,
                                     transform=transform)
        timings[f"inference{suffix or ' (plain)'}"] = time.perf_counter() - start
    return timings


def self_confidence_score(dataset: ll.Dataset, label_field: str) -> np.ndarray:
    """cleanlab's self-confidence ranking: 1 - softmax(logits)[given label]."""
    classes = dataset.default_classes
    logits = dataset.values("predictions.logits", as_numpy=True)
    labels = np.array([classes.index(x) for x in dataset.values(f"{label_field}.label")])
    return 1.0 - softmax(logits)[np.arange(len(labels)), labels]


def run_seed(dataset: ll.Dataset, truth: list[str], seed: int, tta: bool) -> list[list[Any]]:
    noisy, mask = corrupt(truth, dataset.default_classes, seed)
    dataset.set_values("noisy", [ll.Classification(label=x) for x in noisy])
    rows = []
    start = time.perf_counter()
    brain.compute_mistakenness(dataset, "predictions", label_field="noisy", use_logits=True, progress=False)
    rows.append(["mistakenness", *judge(np.asarray(dataset.values("mistakenness")), mask), "-",
                 time.perf_counter() - start])
    rows.append(["self-confidence", *judge(self_confidence_score(dataset, "noisy"), mask), "-", 0.0])
    variants = [("label_issue (no TTA)", "predictions", "embeddings")]
    if tta:
        variants.append(("label_issue (flip TTA)", ["predictions", "predictions_flip"],
                         ["embeddings", "embeddings_flip"]))
    for name, preds, embeds in variants:
        summary = brain.compute_label_issues(dataset, preds, label_field="noisy", embeddings_field=embeds,
                                             progress=False)
        score = np.asarray(dataset.values("label_issue"))
        estimate = f"{summary.estimated_issues:.0f} (flagged {summary.num_flagged})"
        rows.append([name, *judge(score, mask), estimate, summary.seconds])
    if cleanlab_filter is not None:
        rows.append(cleanlab_row(dataset, mask))
    return [[seed, *row] for row in rows]


def cleanlab_row(dataset: ll.Dataset, mask: np.ndarray) -> list[Any]:
    """cleanlab's own find_label_issues count and self-confidence quality (optional reference)."""
    classes = dataset.default_classes
    probs = softmax(dataset.values("predictions.logits", as_numpy=True))
    labels = np.array([classes.index(x) for x in dataset.values("noisy.label")])
    start = time.perf_counter()
    quality = cleanlab_rank.get_label_quality_scores(labels, probs, method="self_confidence")
    found = cleanlab_filter.find_label_issues(labels, probs)
    return ["cleanlab self_confidence", *judge(1 - quality, mask), f"{int(found.sum())} (find_label_issues)",
            time.perf_counter() - start]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--no-tta", action="store_true", help="skip the flipped-image predictions")
    parser.add_argument("--archive", default=str(SHARED / "data" / "cifar10-jpg-test.tar.gz"))
    args = parser.parse_args()
    tta = not args.no_tta
    with tempfile.TemporaryDirectory(prefix="labellens-cifar-") as tmp, \
            benchmark_server("bench_label_issues"):
        with tarfile.open(args.archive) as tar:
            tar.extractall(tmp, filter="data")
        dataset = ll.Dataset.from_dir(Path(tmp) / "cifar10-jpg" / "test")
        timings = predict(dataset, tta)
        truth = dataset.values("ground_truth.label")
        accuracy = np.mean([p == t for p, t in zip(dataset.values("predictions.label"), truth)])
        rows = [row for seed in args.seeds for row in run_seed(dataset, truth, seed, tta)]
    print(f"label issues: {len(truth):,} CIFAR-10 test JPEGs, cifar10-resnet56 from labellens.zoo "
          f"(apply_model + compute_embeddings{', plus flipped images' if tta else ''}), "
          f"{NUM_CHANGED:,} labels changed per seed")
    print(f"model accuracy on the clean labels: {accuracy:.4f}; inference seconds: "
          + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))
    print_table(["seed", "score", "AP", "P@1000", "estimated issues", "seconds"], rows)


if __name__ == "__main__":
    main()
