"""Fine-tuned out-of-sample predictions against the zoo model as it is, on the CIFAR-10 test JPEGs.

    LABELLENS_MODEL_DIR=../shared/models python bench/fine_tune.py [--test-per-class 50]
        [--train-per-class 100] [--epochs 2] [--noise 0.1] [--model cifar10-resnet20]

A subset of the shared test JPEGs (``--test-per-class`` images of each class) gets uniform label
noise at ``--noise`` (seeded; the planted mistakes are known). Then:

- the zoo model predicts and embeds them as it is (its accuracy on the true labels: the baseline);
- ``brain.compute_out_of_sample_predictions(model=...)`` fine-tunes a copy of it per fold on the
  other folds' (noisy) labels plus ``--train-per-class`` images of each class of the train JPEGs
  (``extra_train``), and predicts the held-out fold;
- ``compute_label_issues`` runs on each, and the planted mistakes are ranked by its score and by
  cleanlab's self-confidence (1 - p(given)): average precision and hits in the top k.

The subset keeps a run to minutes on a 2-core CPU; the full sets (10,000 test, 50,000 train
JPEGs) need a GPU. Prints the accuracies, the times and the table.

Measured (2-core CPU shared with other jobs, load ~10; resnet20, 5 folds, 10% uniform noise):

- 1,000 test + 2,000 train JPEGs, 2 epochs: accuracy 0.824 as it is, 0.828 fine-tuned (728 s);
  label_issue AP 0.915 -> 0.912, self-confidence 0.910 -> 0.911;
- 500 test + 4,000 train JPEGs, 1 epoch: 0.806 -> 0.820 (568 s); label_issue AP 0.892 -> 0.884,
  self-confidence 0.927 -> 0.913.

A few thousand train images move accuracy by about a point and the rankings not at all; the
full train split on a GPU is the run that can show what fine-tuning buys.
"""

from __future__ import annotations

import argparse
import sys
import tarfile
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import benchmark_server, print_table  # noqa: E402

import labellens as ll  # noqa: E402
from labellens import brain, inference, zoo  # noqa: E402
from labellens.inference import softmax  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared"


def extract(archive: Path, per_class: int, target: Path) -> list[tuple[Path, str]]:
    """The first ``per_class`` images of each class folder of ``archive``, unpacked into ``target``."""
    taken: dict[str, int] = defaultdict(int)
    out: list[tuple[Path, str]] = []
    with tarfile.open(archive) as tar:
        for member in tar:
            parts = Path(member.name).parts
            if not member.isfile() or len(parts) < 2 or taken[parts[-2]] >= per_class:
                continue
            taken[parts[-2]] += 1
            tar.extract(member, target, filter="data")
            out.append((target / member.name, parts[-2]))
    return out


def dataset_of(images: list[tuple[Path, str]], labels: list[str], classes: list[str]) -> ll.Dataset:
    dataset = ll.Dataset()
    dataset.add_samples(ll.Sample(path, ground_truth=ll.Classification(label=label))
                        for (path, _), label in zip(images, labels))
    dataset.default_classes = classes
    return dataset


def ranking_rows(name: str, dataset: ll.Dataset, pred_field: str, embeddings: str, given: np.ndarray,
                 mistakes: np.ndarray) -> list[list[object]]:
    """AP and hits in the top k (k = planted count) of label_issue and self-confidence."""
    k = int(mistakes.sum())
    summary = brain.compute_label_issues(dataset, pred_field, embeddings_field=embeddings,
                                         score_field=f"{pred_field}_issue", progress=False)
    probs = softmax(dataset.values(f"{pred_field}.logits", as_numpy=True))
    scores = {"label_issue": dataset.values(f"{pred_field}_issue", as_numpy=True),
              "self-confidence": 1 - probs[np.arange(len(given)), given]}
    rows = []
    for method, score in scores.items():
        top = np.argsort(-score)[:k]
        rows.append([name, method, float(average_precision_score(mistakes, score)),
                     f"{int(mistakes[top].sum())} / {k}",
                     f"{summary.estimated_issues:.0f}" if method == "label_issue" else "-"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--test-per-class", type=int, default=50)
    parser.add_argument("--train-per-class", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--noise", type=float, default=0.1)
    parser.add_argument("--model", default="cifar10-resnet20")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    model = zoo.load_zoo_model(args.model)
    classes = model.classes
    with tempfile.TemporaryDirectory(prefix="labellens-ft-") as tmp, benchmark_server("bench_fine_tune"):
        test_images = extract(SHARED / "data" / "cifar10-jpg-test.tar.gz", args.test_per_class, Path(tmp))
        train_images = extract(SHARED / "data" / "cifar10-jpg-train.tar.gz", args.train_per_class, Path(tmp))
        truth = np.array([classes.index(label) for _, label in test_images])
        rng = np.random.default_rng(args.seed)
        mistakes = rng.random(len(truth)) < args.noise
        given = np.where(mistakes, (truth + rng.integers(1, len(classes), len(truth))) % len(classes), truth)
        test = dataset_of(test_images, [classes[g] for g in given], classes)
        train = dataset_of(train_images, [label for _, label in train_images], classes)
        print(f"{len(test)} test JPEGs ({int(mistakes.sum())} labels flipped), {len(train)} train JPEGs, "
              f"{args.model}, {args.folds} folds x {args.epochs} epochs", flush=True)
        start = time.perf_counter()
        inference.apply_model(test, model, "zoo", progress=False)
        inference.compute_embeddings(test, model, "zoo_embeddings", progress=False)
        zoo_s = time.perf_counter() - start
        start = time.perf_counter()
        summary = brain.compute_out_of_sample_predictions(
            test, model=model, pred_field="fine_tuned", num_folds=args.folds, epochs=args.epochs,
            extra_train=train, seed=args.seed, progress=False)
        tune_s = time.perf_counter() - start
        accuracy = {name: float(np.mean(test.values(f"{name}.logits", as_numpy=True).argmax(axis=1) == truth))
                    for name in ("zoo", "fine_tuned")}
        print_table(["predictions", "accuracy (true labels)", "seconds"],
                    [[f"{args.model} as it is", accuracy["zoo"], f"{zoo_s:.0f}"],
                     [f"fine-tuned out of sample ({summary.agreement:.1%} agree with the noisy labels)",
                      accuracy["fine_tuned"], f"{tune_s:.0f}"]])
        print()
        rows = ranking_rows(args.model, test, "zoo", "zoo_embeddings", given, mistakes)
        rows += ranking_rows("fine-tuned", test, "fine_tuned", "fine_tuned_embeddings", given, mistakes)
        print_table(["predictions", "ranking", "AP", "planted in top k", "estimated issues"], rows)


if __name__ == "__main__":
    main()
