"""``compute_image_quality``: CleanVision's image-quality issues, from the pixels.

Per image (Pillow and numpy, in threads): perceived brightness per pixel
``sqrt(0.241 R^2 + 0.691 G^2 + 0.068 B^2) / 255``; the entropy of the image's
histogram; the standard deviation of the edge image (``FIND_EDGES`` on grey,
after a resize to at most ``BLUR_MAX_SIZE`` pixels, leaving out the 1-pixel frame that
``FIND_EDGES`` does not filter, which would dominate small images); aspect ratio; size; colour.
Scores follow CleanVision: in [0, 1], LOW = more severe, flagged below the
threshold.

- dark: 99th percentile of brightness (flag < 0.37)
- light (overexposed): 1 - 5th percentile of brightness (flag < 0.05)
- blurry: ``1 - exp(-0.01 * edge std)``, raised for dark images (flag < 0.29)
- low_information: ``min(1, 0.1 * entropy)`` (flag < 0.3)
- odd_aspect_ratio: ``min(w / h, h / w)`` (flag < 0.35)
- odd_size: ``min(r, 1 / r)`` with ``r = sqrt(w h) / median sqrt(w h)`` (flag < 0.1)
- grayscale: 0 where every pixel has R = G = B, else 1 (flag < 0.5)

Fields: ``<key>_<issue>`` (score) and ``<key>_<issue>_flag`` for each issue, and
``<key>_size`` (``sqrt(w h)`` in pixels, for odd_size). Images are read in
batches and written batch by batch; a rerun skips the samples already scored
(``overwrite=True`` redoes them); odd_size is recomputed over the whole
collection at the end of every run.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageFilter

from labellens.brain.run import BrainRun, Flag, RunSummary
from labellens.dataset.collection import SampleCollection
from labellens.errors import ValidationError
from labellens.fields import BOOLEAN, FLOAT
from labellens.progress import ProgressBar

ISSUES = ("dark", "light", "blurry", "low_information", "odd_aspect_ratio", "odd_size", "grayscale")
THRESHOLDS = {"dark": 0.37, "light": 0.05, "blurry": 0.29, "low_information": 0.3, "odd_aspect_ratio": 0.35,
              "odd_size": 0.1, "grayscale": 0.5}
BLUR_MAX_SIZE = 64
BLUR_FACTOR = 0.01
ENTROPY_FACTOR = 0.1
PER_IMAGE = ("dark", "light", "blurry", "low_information", "odd_aspect_ratio", "grayscale", "size")
BATCH_SIZE = 1000
WORKERS = 4


@dataclass(kw_only=True)
class QualitySummary(RunSummary):
    """How many images were scored in this run, which could not be read, and flags per issue."""

    flagged: dict[str, int] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)


def image_scores(image: Image.Image) -> dict[str, float]:
    """The per-image scores of one image (all issues but odd_size) and its ``size`` = sqrt(w h)."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.float64)
    brightness = np.sqrt(0.241 * rgb[..., 0] ** 2 + 0.691 * rgb[..., 1] ** 2 + 0.068 * rgb[..., 2] ** 2) / 255
    p5, p99 = np.percentile(brightness, [5, 99])
    dark = float(min(p99, 1.0))
    width, height = image.size
    scale = max(width, height) / BLUR_MAX_SIZE
    small = image.resize((max(1, int(width // scale)), max(1, int(height // scale)))) if scale > 1 else image
    edges = np.asarray(small.convert("L").filter(ImageFilter.FIND_EDGES), dtype=np.float64)
    inner = edges[1:-1, 1:-1] if min(edges.shape) > 2 else edges  # FIND_EDGES leaves the 1-pixel frame
    blurry = 1.0 - float(np.exp(-BLUR_FACTOR * inner.std()))
    if dark < THRESHOLDS["dark"]:
        blurry = min(blurry + (1.0 - dark), 1.0)
    grayscale = bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())
    return {"dark": dark, "light": float(1.0 - min(p5, 1.0)), "blurry": blurry,
            "low_information": float(min(1.0, ENTROPY_FACTOR * image.entropy())),
            "odd_aspect_ratio": float(min(width / height, height / width)),
            "grayscale": 0.0 if grayscale else 1.0, "size": float(np.sqrt(width * height))}


def odd_size_scores(sizes: np.ndarray) -> np.ndarray:
    """(N,) sqrt(w h) -> (N,) odd_size score ``min(r, 1/r)``, ``r`` = size / median size."""
    ratio = np.asarray(sizes, dtype=np.float64) / np.median(sizes)
    return np.minimum(ratio, 1.0 / ratio)


def flags(issue: str, scores: np.ndarray) -> np.ndarray:
    return np.asarray(scores) < THRESHOLDS[issue]


def compute_image_quality(samples: SampleCollection, brain_key: str = "quality", *, overwrite: bool = False,
                          workers: int = WORKERS, progress: bool = True) -> QualitySummary:
    """Score and flag every image of ``samples`` for the CleanVision issues (see the module docstring).

    Unreadable images get no fields, are listed in the summary and named in a warning.
    A brain run under ``brain_key``.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValidationError(f"workers must be a positive integer, got {workers!r}")
    schema = samples.get_field_schema()
    issues = {issue: Flag(f"{brain_key}_{issue}_flag", score=f"{brain_key}_{issue}", low_is_worse=True)
              for issue in ISSUES}
    outputs = {f"{brain_key}_size": FLOAT} | {name: kind for flag in issues.values()
                                              for name, kind in ((flag.score, FLOAT), (flag.field, BOOLEAN))}
    run = BrainRun(samples, brain_key, "image_quality", {"thresholds": THRESHOLDS}, inputs=["filepath"],
                   outputs=outputs, flags=issues, schema=schema)
    size_field = f"{brain_key}_size"
    todo = samples if overwrite or size_field not in schema else samples.exists(size_field, False)
    scored, unreadable = 0, []
    with ProgressBar(len(todo), desc="image quality", unit="images", enabled=progress) as bar:
        for batch in todo.iter_batches(["filepath"], batch_size=BATCH_SIZE):
            results = score_images(batch["filepath"], workers=workers)
            unreadable += [p for p, r in zip(batch["filepath"], results) if r is None]
            run.skip([i for i, r in zip(batch["id"], results) if r is None], "have an unreadable image")
            readable = [(i, r) for i, r in zip(batch["id"], results) if r is not None]
            columns = {}
            for name in PER_IMAGE:
                columns[f"{brain_key}_{name}"] = values = [r[name] for _, r in readable]
                if name != "size":
                    columns[f"{brain_key}_{name}_flag"] = flags(name, np.array(values)).tolist()
            if readable:
                run.write([i for i, _ in readable], columns)
            scored += len(readable)
            bar.update(len(batch["id"]))
    flagged = {}
    if size_field in samples.get_field_schema():
        _write_odd_size(run, brain_key)
        flagged = {issue: len(samples.match(flag.query)) for issue, flag in run.flags.items()}
    return run.finish(QualitySummary, scored=scored, flagged=flagged, unreadable=unreadable)


def _write_odd_size(run: BrainRun, brain_key: str) -> None:
    """odd_size over every scored image of the collection (it depends on the median size)."""
    samples = run.samples
    ids: list[str] = []
    sizes: list[float] = []
    for batch in samples.exists(f"{brain_key}_size").iter_batches([f"{brain_key}_size"]):
        ids += batch["id"]
        sizes += batch[f"{brain_key}_size"]
    scores = odd_size_scores(np.array(sizes))
    run.write(ids, {f"{brain_key}_odd_size": scores.tolist(),
                    f"{brain_key}_odd_size_flag": flags("odd_size", scores).tolist()})


def _score_file(path: str | None) -> dict[str, float] | None:
    if path is None:
        return None
    try:
        with Image.open(path) as image:
            image.load()
            return image_scores(image)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def score_images(paths: Sequence[str], *, workers: int = WORKERS) -> list[dict[str, float] | None]:
    """Per-image scores of files (None where unreadable), in threads: the pure half without a dataset."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_score_file, paths))
