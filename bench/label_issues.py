"""Label-issue quality on three kinds of label noise, side by side with cleanlab.

    LABELLENS_MODEL_DIR=../shared/models python bench/label_issues.py [--seeds 0 1 2] [--cache /tmp/h12]

The shared CIFAR-10 test JPEGs go into a dataset (``Dataset.from_dir``); the zoo's
cifar10-resnet56 predicts them with logits and embeds them, with flip test-time
augmentation (``apply_model(..., tta="flip")``, ``compute_embeddings(..., tta="flip")``);
cifar10-resnet20 predicts them too (it drives the model-confusion noise). These
arrays are cached in ``--cache`` (``cifar10_test.npz``), so reruns take seconds.

For each noise model, rate (10% and 20% of the labels) and seed, exactly that many
ground-truth labels are changed:

- ``uniform``: to a uniformly chosen different class (the tutorial's scenario);
- ``class-conditional``: to a fixed confusable partner class, PAIRS below: the five
  most confused pairs of CIFAR-10 (cat/dog, automobile/truck, deer/horse,
  airplane/ship, bird/frog), as in the confusion matrices of CIFAR-10 classifiers and
  of the CIFAR-10H human relabelling (Peterson et al., ICCV 2019);
- ``model-confusion`` ("human-like"): to a wrong class drawn in proportion to
  cifar10-resnet20's probabilities over the wrong classes, so errors land where the
  image really looks like another class.

Every score is judged against the mask of changed labels on the same predicted
probabilities (softmax of the flip-averaged resnet56 logits): scikit-learn's average
precision (AP), the precision of the top ``n`` (n = the true number of errors, P@n), and
the estimated number of issues where the method gives one. cleanlab 2.x (optional
extra ``bench``): ``get_label_quality_scores`` with its default method
(self_confidence) and with ``normalized_margin``, each alone and with the samples
``find_label_issues`` flags ranked first; "cleanlab best" is the best of these four
rankings per run. ``label_issue`` is :func:`labellens.brain.find_label_issues` on the
same logits plus the embeddings (the pure function ``compute_label_issues`` runs).
"ceiling" is label_issue with one thing it cannot have: its classifier is fit on the
true labels instead of the noisy ones (the neighbour votes and the noise model still see
only the noisy labels). It bounds what these logits and embeddings can tell: the Bayes
ranking is by the true-class probability of the given label, so no method reading the
same inputs ranks much better without a better model.
Targets: label_issue ahead of cleanlab best by >= 0.03 AP on every noise
model and rate; on uniform 10% AP >= 0.95 and P@n >= 0.90 on every seed.

The low-noise part (``--low-noise only`` runs it alone, ``no`` skips it) stands for real
curated sets, about 0.5% wrong while the model errs on 15%: 0.25%, 0.5%, 1% and 2% of
the labels changed, seeds 0-4 (``--low-seeds``), the given labels taken as clean (they
hold about fifty real errors of their own, which count as clean here):

- ``uniform`` and ``model-confusion`` as above (resnet20's probabilities, a different
  model from the resnet56 that ranks);
- ``confident-other``: images that resnet20 gives another class at least
  CONFIDENT_OTHER probability, relabelled to that class: ambiguous images, given the
  label a model would give them, the kind of mistake a person makes.

Per kind and rate it prints the mean (standard deviation) over seeds of AP and the
precision of the top 50 and 100 for label_issue, cleanlab's ``self_confidence``,
``normalized_margin`` and ``confidence_weighted_entropy`` quality scores, and plain
self-confidence (1 - p(given), the same ranking as cleanlab's self_confidence), and the
estimated number of issues (label_issue's summed score; cleanlab's
``find_label_issues`` count). Targets: label_issue at least the best cleanlab ranking
(ahead by 0.03 AP where it can be), never below self-confidence, and its estimate
within 2x of the planted count plus the base set's own errors.
"""

from __future__ import annotations

import argparse
import os
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import benchmark_server, print_table  # noqa: E402

import labellens as ll  # noqa: E402
from labellens import brain, inference, zoo  # noqa: E402
from labellens.brain import confident_learning as li  # noqa: E402
from labellens.brain import noise_model as nm  # noqa: E402
from labellens.brain.mislabel_model import evidence  # noqa: E402
from labellens.brain.noisy_logreg import cross_val_log_proba  # noqa: E402
from labellens.brain.scores import mistakenness_from_logits  # noqa: E402
from labellens.probability import softmax  # noqa: E402

try:  # optional reference: cleanlab is not a labellens dependency (pip install 'labellens[bench]')
    from cleanlab import filter as cleanlab_filter
    from cleanlab import rank as cleanlab_rank
except ImportError:
    cleanlab_filter = cleanlab_rank = None

SHARED = Path(__file__).resolve().parents[2] / "shared"
CACHE_FILE = "cifar10_test.npz"
PAIRS = [("cat", "dog"), ("automobile", "truck"), ("deer", "horse"), ("airplane", "ship"), ("bird", "frog")]
NOISE_MODELS = ("uniform", "class-conditional", "model-confusion")
RATES = (0.1, 0.2)
LOW_NOISE_MODELS = ("uniform", "model-confusion", "confident-other")
LOW_RATES = (0.0025, 0.005, 0.01, 0.02)
LOW_SEEDS = (0, 1, 2, 3, 4)
CLEANLAB_METHODS = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")
CONFIDENT_OTHER = 0.6   # confident-other flips images resnet20 gives another class at least this probability


def build_cache(path: Path, archive: str) -> None:
    """Predict the CIFAR-10 test JPEGs with the zoo's ResNets through labellens and save the arrays."""
    model_dir = os.environ.get("LABELLENS_MODEL_DIR", str(SHARED / "models"))
    arrays: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="labellens-cifar-") as tmp, \
            benchmark_server("bench_label_issues"):
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        dataset = ll.Dataset.from_dir(Path(tmp) / "cifar10-jpg" / "test")
        dataset = dataset.sort_by("filepath")
        for name in ("resnet56", "resnet20"):
            model = zoo.load_zoo_model(f"cifar10-{name}", model_dir=model_dir, download=False, progress=False)
            dataset.dataset.default_classes = model.classes
            start = time.perf_counter()
            inference.apply_model(dataset, model, name, tta="flip", tta_fields=True, progress=False)
            for field in (name, f"{name}_flip"):
                arrays[f"logits_{field}"] = dataset.values(f"{field}.logits", as_numpy=True)
            if name == "resnet56":
                inference.compute_embeddings(dataset, model, "embeddings", progress=False, tta="flip",
                                             tta_fields=True)
                for field in ("embeddings", "embeddings_flip"):
                    arrays[field] = dataset.values(field, as_numpy=True)
            print(f"{name}: inference {time.perf_counter() - start:.0f} s", flush=True)
        arrays["classes"] = np.array(model.classes)
        index = {c: i for i, c in enumerate(model.classes)}
        arrays["labels"] = np.array([index[x] for x in dataset.values("ground_truth.label")])
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)



def load_cache(cache: Path, archive: str) -> dict[str, np.ndarray]:
    path = cache / CACHE_FILE
    if not path.exists():
        build_cache(path, archive)
    with np.load(path) as data:
        return dict(data)


def corrupt(labels: np.ndarray, noise: str, rate: float, seed: int, classes: list[str],
            confusion: np.ndarray) -> np.ndarray:
    """(N,) noisy labels, exactly ``round(rate * N)`` changed as ``noise`` says (``confusion``: (N, K),
    resnet20's probabilities)."""
    rng = np.random.default_rng(seed)
    n, k = confusion.shape
    noisy = labels.copy()
    if noise == "confident-other":
        other = confusion.copy()
        other[np.arange(n), labels] = 0.0
        pool = np.flatnonzero(other.max(axis=1) >= CONFIDENT_OTHER)
        changed = rng.choice(pool, int(round(rate * n)), replace=False)
        noisy[changed] = other[changed].argmax(axis=1)
        return noisy
    changed = rng.choice(n, int(round(rate * n)), replace=False)
    if noise == "uniform":
        noisy[changed] = (labels[changed] + rng.integers(1, k, size=len(changed))) % k
    elif noise == "class-conditional":
        partner = np.arange(k)
        for a, b in PAIRS:
            partner[classes.index(a)], partner[classes.index(b)] = classes.index(b), classes.index(a)
        noisy[changed] = partner[labels[changed]]
    elif noise == "model-confusion":
        weights = confusion[changed].copy()
        weights[np.arange(len(changed)), labels[changed]] = 0.0
        weights /= weights.sum(axis=1, keepdims=True)
        cumulative = weights.cumsum(axis=1)
        draws = rng.random(len(changed))[:, None]
        noisy[changed] = np.minimum((cumulative < draws).sum(axis=1), k - 1)
    else:
        raise ValueError(noise)
    assert (noisy[changed] != labels[changed]).all()
    return noisy


def judge(score: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """AP and precision of the top ``mask.sum()`` of ``score`` (high = likely wrong)."""
    top = np.argsort(-score, kind="stable")[:int(mask.sum())]
    return float(average_precision_score(mask, score)), float(mask[top].mean())


def cleanlab_scores(probs: np.ndarray, noisy: np.ndarray) -> tuple[dict[str, np.ndarray], int]:
    """cleanlab's rankings (high = likely wrong) and its find_label_issues count."""
    flagged = cleanlab_filter.find_label_issues(noisy, probs)
    out = {}
    for method in ("self_confidence", "normalized_margin"):
        bad = 1.0 - cleanlab_rank.get_label_quality_scores(noisy, probs, method=method)
        out[f"cleanlab {method}"] = bad
        out[f"cleanlab {method} (flagged first)"] = bad + flagged
    return out, int(flagged.sum())


def ceiling(logits: np.ndarray, noisy: np.ndarray, truth: np.ndarray, embeddings: np.ndarray) -> np.ndarray:
    """label_issue's score with its classifier fit on the true labels (see the module docstring)."""
    offsets, features = evidence(logits, noisy, embeddings)
    probs = np.exp(cross_val_log_proba(offsets, features, truth, np.eye(logits.shape[1])[truth]))
    start = nm.noise_from_joint(li.confident_joint(softmax(logits), noisy))
    noise, confusion, _ = nm.fit_appearance(start, probs, noisy, logits)
    posterior = nm.true_class_posterior(probs, nm.label_likelihood(noise, noisy, confusion))
    return nm.wrong_probability(posterior, noisy)


def run(data: dict[str, np.ndarray], noise: str, rate: float, seed: int,
        methods: dict[str, Callable[..., Any]]) -> list[list[Any]]:
    classes = [str(c) for c in data["classes"]]
    logits = (data["logits_resnet56"] + data["logits_resnet56_flip"]) / 2
    embeddings = (data["embeddings"] + data["embeddings_flip"]) / 2
    confusion = softmax(data["logits_resnet20"])
    noisy = corrupt(data["labels"], noise, rate, seed, classes, confusion)
    mask = noisy != data["labels"]
    probs = softmax(logits)
    rows = []
    agree = logits.argmax(axis=1) == noisy
    rows.append(["mistakenness", *judge(mistakenness_from_logits(logits, agree), mask), "-", 0.0])
    if cleanlab_filter is not None:
        start = time.perf_counter()
        ranked, count = cleanlab_scores(probs, noisy)
        seconds = time.perf_counter() - start
        judged = {name: judge(score, mask) for name, score in ranked.items()}
        for name, (ap, prec) in judged.items():
            rows.append([name, ap, prec, str(count) if "flagged" in name else "-", seconds])
        best = max(judged, key=lambda name: judged[name][0])
        rows.append(["cleanlab best", *judged[best], best.removeprefix("cleanlab "), 0.0])
    for name, method in methods.items():
        start = time.perf_counter()
        result = method(logits, noisy, embeddings)
        flagged, temperature = result.flag.sum(), result.appearance_temperature
        estimate = f"{result.score.sum():.0f} (flagged {flagged}, t {temperature})"
        rows.append([name, *judge(result.score, mask), estimate, time.perf_counter() - start])
    start = time.perf_counter()
    bound = ceiling(logits, noisy, data["labels"], embeddings)
    rows.append(["ceiling (fit on true labels)", *judge(bound, mask), "-", time.perf_counter() - start])
    return [[noise, f"{rate:.0%}", seed, int(mask.sum()), *row] for row in rows]


def precision_at(score: np.ndarray, mask: np.ndarray, k: int) -> float:
    """Share of planted errors among the ``k`` highest scores."""
    return float(mask[np.argsort(-score, kind="stable")[:k]].mean())


def low_noise_run(data: dict[str, np.ndarray], noise: str, rate: float, seed: int) -> list[list[Any]]:
    """One low-noise case: [score, AP, P@50, P@100, estimated issues] per ranking."""
    classes = [str(c) for c in data["classes"]]
    logits = (data["logits_resnet56"] + data["logits_resnet56_flip"]) / 2
    embeddings = (data["embeddings"] + data["embeddings_flip"]) / 2
    noisy = corrupt(data["labels"], noise, rate, seed, classes, softmax(data["logits_resnet20"]))
    mask = noisy != data["labels"]
    probs = softmax(logits)
    scores: dict[str, tuple[np.ndarray, float]] = {
        "self-confidence": (1.0 - li.self_confidence(probs, noisy), np.nan)}
    if cleanlab_rank is not None:
        count = float(cleanlab_filter.find_label_issues(noisy, probs).sum())
        for method in CLEANLAB_METHODS:
            bad = 1.0 - cleanlab_rank.get_label_quality_scores(noisy, probs, method=method)
            scores[f"cleanlab {method}"] = (bad, count)
    result = brain.find_label_issues(logits, noisy, embeddings)
    scores["label_issue"] = (result.score, float(result.score.sum()))
    return [[name, float(average_precision_score(mask, score)), precision_at(score, mask, 50),
             precision_at(score, mask, 100), estimate] for name, (score, estimate) in scores.items()]


def low_noise(data: dict[str, np.ndarray], noises: list[str], rates: list[float], seeds: list[int]) -> None:
    """The low-noise table: mean (spread = standard deviation) over ``seeds`` per kind, rate and ranking."""
    rows = []
    for noise in noises:
        for rate in rates:
            start = time.perf_counter()
            runs = [low_noise_run(data, noise, rate, seed) for seed in seeds]
            seconds = (time.perf_counter() - start) / len(seeds)
            for i, name in enumerate(row[0] for row in runs[0]):
                values = np.array([run[i][1:] for run in runs], dtype=float)
                mean, spread = values.mean(axis=0), values.std(axis=0)
                estimate = "-" if np.isnan(mean[3]) else f"{mean[3]:.0f}"
                rows.append([noise, f"{rate:.2%}", int(round(rate * len(data["labels"]))), name,
                             f"{mean[0]:.3f} ({spread[0]:.3f})", f"{mean[1]:.3f} ({spread[1]:.3f})",
                             f"{mean[2]:.3f} ({spread[2]:.3f})", estimate, seconds])
    print(f"\nlow noise: mean (standard deviation) over seeds {', '.join(map(str, seeds))}; "
          "estimated = label_issue's summed score, cleanlab's find_label_issues count")
    print_table(["noise", "rate", "planted", "score", "AP", "P@50", "P@100", "estimated", "s/seed"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--noise", nargs="+", default=list(NOISE_MODELS), choices=NOISE_MODELS)
    parser.add_argument("--rates", type=float, nargs="+", default=list(RATES))
    parser.add_argument("--low-noise", choices=("also", "only", "no"), default="also",
                        help="the low-noise cases (0.25-2%% planted): with the others, alone, or not at all")
    parser.add_argument("--low-seeds", type=int, nargs="+", default=list(LOW_SEEDS))
    parser.add_argument("--cache", default=os.environ.get("LABELLENS_BENCH_CACHE", "/tmp/h12"),
                        help="folder for the cached logits and embeddings")
    parser.add_argument("--archive", default=str(SHARED / "data" / "cifar10-jpg-test.tar.gz"))
    args = parser.parse_args()
    data = load_cache(Path(args.cache), args.archive)
    predicted = (data["logits_resnet56"] + data["logits_resnet56_flip"]).argmax(axis=1)
    accuracy = float((predicted == data["labels"]).mean())
    print(f"label issues: {len(data['labels']):,} CIFAR-10 test JPEGs, cifar10-resnet56 logits and "
          f"embeddings with flip TTA (accuracy {accuracy:.4f} on the clean labels)")
    if args.low_noise != "only":
        methods = {"label_issue": lambda logits, labels, emb: brain.find_label_issues(logits, labels, emb)}
        rows = [row for noise in args.noise for rate in args.rates for seed in args.seeds
                for row in run(data, noise, rate, seed, methods)]
        print_table(["noise", "rate", "seed", "errors", "score", "AP", "P@n", "estimated issues", "seconds"],
                    rows)
        summarize(rows)
    if args.low_noise != "no":
        low_noise(data, list(LOW_NOISE_MODELS), list(LOW_RATES), args.low_seeds)


def summarize(rows: list[list[Any]]) -> None:
    """Mean AP / P@n per noise model, rate and score over the seeds."""
    groups: dict[tuple[str, str, str], list[tuple[float, float]]] = {}
    for noise, rate, _seed, _n, score, ap, prec, *_ in rows:
        groups.setdefault((noise, rate, score), []).append((ap, prec))
    print()
    print_table(["noise", "rate", "score", "mean AP", "min AP", "mean P@n", "min P@n"],
                [[noise, rate, score, float(np.mean([a for a, _ in v])), float(min(a for a, _ in v)),
                  float(np.mean([p for _, p in v])), float(min(p for _, p in v)), ]
                 for (noise, rate, score), v in groups.items()])


if __name__ == "__main__":
    main()
