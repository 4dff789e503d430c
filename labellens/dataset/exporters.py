"""Export a view for review by annotators, and read their reviewed labels back.

``export_view`` writes the samples of a collection (id, filepath, ground-truth
label, predicted label and confidence, scores) in one of three formats:

- ``"csv"``: ``<export_dir>/labels.csv``, one row per sample;
- ``"json"``: ``<export_dir>/labels.json``, ``{"label_field", "pred_field", "classes", "samples": [...]}``;
- ``"image-directory-tree"``: a copy of each image at ``<export_dir>/<label>/<id><ext>`` (unlabelled
  samples under ``_unlabeled``), plus ``samples.csv`` with the predictions and scores.
  Annotators relabel by moving a file into another class folder.

``import_labels`` reads any of these back by sample id: the ``label`` column (or
the file's folder) is the reviewed label. Every row is checked before anything is
written; the labels that changed are written in bulk (with a label-history entry,
decision ``import``) and their samples tagged.
Only the public collection API is used (``iter_batches``, ``set_values``, ``tag_samples``).
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bson import ObjectId

from labellens.dataset.history import LabelChange
from labellens.dataset.protocols import ReadableCollection
from labellens.errors import FieldNotFoundError, ValidationError
from labellens.fields import CLASSIFICATION
from labellens.label_types import check_label_field

ExportFormat = Literal["csv", "json", "image-directory-tree"]
FORMATS: tuple[str, ...] = ("csv", "json", "image-directory-tree")
CSV_FILE = "labels.csv"
JSON_FILE = "labels.json"
TREE_MANIFEST = "samples.csv"
UNLABELED = "_unlabeled"
FIXED_COLUMNS = ("id", "filepath", "label", "prediction", "confidence")
BATCH = 10_000


@dataclass(frozen=True)
class ImportSummary:
    """What :func:`import_labels` did: counts, and the ids of the samples whose label changed."""

    total: int
    changed: int
    unchanged: int
    skipped: int
    tag: str | None
    label_field: str
    changed_ids: list[str] = field(repr=False)

    def __str__(self) -> str:
        tagged = f", tagged {self.tag!r}" if self.tag else ""
        return (f"read {self.total} reviewed labels: {self.changed} changed{tagged}, "
                f"{self.unchanged} unchanged, {self.skipped} skipped (empty label) "
                f"-> {self.label_field!r}")


def export_view(collection: ReadableCollection, export_dir: str | os.PathLike[str],
                format: ExportFormat = "csv", label_field: str = "ground_truth", *,  # noqa: A002
                pred_field: str | None = None, score_fields: Sequence[str] | None = None) -> Path:
    """Write the samples of ``collection`` to ``export_dir`` for review; returns the file or folder.

    Parameters
    ----------
    collection : ReadableCollection or View
        The samples to export, in view order (e.g. sorted by mistakenness).
    export_dir : path
        A new or empty folder.
    format : {"csv", "json", "image-directory-tree"}
        See the module docstring.
    label_field, pred_field : str
        ``Classification`` fields of the ground truth and (optional) prediction.
    score_fields : list of str, optional
        Float fields to include, e.g. ``["mistakenness"]``.
    """
    if format not in FORMATS:
        raise ValidationError(f"unknown export format {format!r}; use one of {', '.join(FORMATS)}")
    scores = _check_fields(collection, label_field, pred_field, list(score_fields or []))
    if format == "image-directory-tree":
        _check_tree(collection, label_field)
    target = _prepare_dir(export_dir)
    rows = _rows(collection, label_field, pred_field, scores)
    if format == "csv":
        return _write_csv(target / CSV_FILE, rows, scores)
    if format == "json":
        return _write_json(target / JSON_FILE, rows, collection, label_field, pred_field)
    return _write_tree(target, rows, scores)


def import_labels(dataset: ReadableCollection, path: str | os.PathLike[str],
                  label_field: str = "ground_truth", *, tag: str | None = "reviewed",
                  format: ExportFormat | None = None  # noqa: A002
                  ) -> ImportSummary:
    """Read reviewed labels from an export and write the ones that changed to ``label_field``.

    ``path`` is a ``labels.csv`` / ``labels.json`` file, or an export folder (its
    ``labels.csv`` or ``labels.json``, else its class folders). Rows with an empty
    label are skipped. Unknown sample ids, unknown classes (when the dataset has
    ``default_classes``) and duplicate ids fail before anything is written. A
    ``label_field`` the dataset lacks is declared a Classification field first.
    """
    reviewed = _read_reviewed(Path(path), format)
    if tag is not None and (not isinstance(tag, str) or not tag):
        raise ValidationError(f"tag must be a non-empty string or None, got {tag!r}")
    labelled = {sid: label for sid, label in reviewed.items() if label}
    _check_classes(dataset, labelled)
    current = _current_labels(dataset, label_field, list(labelled))
    changed = [sid for sid, label in labelled.items() if current[sid] != label]
    if changed:
        if label_field not in dataset.get_field_schema():  # label decisions change declared fields only
            dataset.dataset.add_sample_field(label_field, CLASSIFICATION)
        dataset.dataset.apply_label_changes(
            label_field, [LabelChange(sample_id=s, new_label=labelled[s], decision="import")
                          for s in changed], tag_samples=False)
    if changed and tag:
        dataset.select(changed).tag_samples(tag)
    return ImportSummary(total=len(reviewed), changed=len(changed),
                         unchanged=len(labelled) - len(changed), skipped=len(reviewed) - len(labelled),
                         tag=tag, label_field=label_field, changed_ids=changed)


# -- export ------------------------------------------------------------------------------


def _check_fields(collection: ReadableCollection, label_field: str, pred_field: str | None,
                  scores: list[str]) -> list[str]:
    schema = collection.get_field_schema()
    for name, role in ((label_field, "label_field"), (pred_field, "pred_field")):
        if name is not None:
            check_label_field(schema, name, role=role, supports="export", error=ValidationError)
    for name in scores:
        if name not in schema:
            raise FieldNotFoundError(f"no score field {name!r}; fields are: {', '.join(schema)}")
        if name in FIXED_COLUMNS:
            raise ValidationError(f"score field {name!r} clashes with a fixed export column; "
                                  "rename it first")
    return scores


def _prepare_dir(export_dir: str | os.PathLike[str]) -> Path:
    target = Path(export_dir).expanduser()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ValidationError(f"{target} exists and is not an empty folder; export to a new folder")
    target.mkdir(parents=True, exist_ok=True)
    return target


def _rows(collection: ReadableCollection, label_field: str, pred_field: str | None,
          scores: list[str]) -> Iterator[dict[str, Any]]:
    """One dict per sample in view order, read in projected batches."""
    paths = ["filepath", f"{label_field}.label"]
    if pred_field:
        paths += [f"{pred_field}.label", f"{pred_field}.confidence"]
    paths += scores
    for batch in collection.iter_batches(paths, batch_size=BATCH):
        for i, sample_id in enumerate(batch["id"]):
            row = {"id": sample_id, "filepath": batch["filepath"][i],
                   "label": batch[f"{label_field}.label"][i],
                   "prediction": batch[f"{pred_field}.label"][i] if pred_field else None,
                   "confidence": _number(batch[f"{pred_field}.confidence"][i]) if pred_field else None}
            row.update({name: _number(batch[name][i]) for name in scores})
            yield row


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) or math.isinf(number) else number


def _write_csv(path: Path, rows: Iterator[dict[str, Any]], scores: list[str]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*FIXED_COLUMNS, *scores])
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return path


def _write_json(path: Path, rows: Iterator[dict[str, Any]], collection: ReadableCollection,
                label_field: str, pred_field: str | None) -> Path:
    header = {"label_field": label_field, "pred_field": pred_field,
              "classes": collection.default_classes}
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(header)[:-1] + ', "samples": [')
        for i, row in enumerate(rows):
            handle.write(("\n" if i == 0 else ",\n") + json.dumps(row))
        handle.write("\n]}\n")
    return path


def _check_tree(collection: ReadableCollection, label_field: str) -> None:
    """Every image exists and every label can name a folder (checked before anything is written)."""
    missing = [p for p in collection.values("filepath") if not os.path.isfile(p)]
    if missing:
        raise ValidationError(f"{len(missing)} images of the view do not exist (e.g. {missing[0]}); "
                              "exclude them or export as csv/json")
    for label in collection.distinct(f"{label_field}.label"):
        _folder_name(label)


def _write_tree(target: Path, rows: Iterator[dict[str, Any]], scores: list[str]) -> Path:
    _write_csv(target / TREE_MANIFEST, _copy_images(target, rows), scores)
    return target


def _copy_images(target: Path, rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Copy each row's image to ``<target>/<label>/<id><ext>`` as the rows stream by."""
    for row in rows:
        folder = target / _folder_name(row["label"])
        folder.mkdir(exist_ok=True)
        shutil.copyfile(row["filepath"], folder / (row["id"] + Path(row["filepath"]).suffix.lower()))
        yield row


def _folder_name(label: str | None) -> str:
    if not label:
        return UNLABELED
    if label in (".", "..") or "/" in label or "\\" in label or "\x00" in label:
        raise ValidationError(f"label {label!r} cannot be a folder name; export as csv or json")
    return label


# -- import ------------------------------------------------------------------------------


def _read_reviewed(path: Path, format: str | None) -> dict[str, str | None]:  # noqa: A002
    """Sample id -> reviewed label (None when left empty)."""
    if format is not None and format not in FORMATS:
        raise ValidationError(f"unknown import format {format!r}; use one of {', '.join(FORMATS)}")
    if not path.exists():
        raise ValidationError(f"{path} does not exist; pass an export file or folder")
    if path.is_dir() and format in (None, "csv") and (path / CSV_FILE).is_file():
        path = path / CSV_FILE
    elif path.is_dir() and format in (None, "json") and (path / JSON_FILE).is_file():
        path = path / JSON_FILE
    if path.is_dir():
        pairs = _read_tree(path)
    elif format == "json" or (format is None and path.suffix.lower() == ".json"):
        pairs = _read_json(path)
    else:
        pairs = _read_csv(path)
    reviewed: dict[str, str | None] = {}
    for sample_id, label in pairs:
        if not ObjectId.is_valid(sample_id):
            raise ValidationError(f"{path}: {sample_id!r} is not a sample id; nothing was imported")
        if sample_id in reviewed:
            raise ValidationError(f"{path}: sample {sample_id} appears twice; nothing was imported")
        reviewed[sample_id] = label.strip() if isinstance(label, str) and label.strip() else None
    return reviewed


def _read_csv(path: Path) -> list[tuple[str, Any]]:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"id", "label"} <= set(reader.fieldnames):
            raise ValidationError(f"{path} needs 'id' and 'label' columns; got {reader.fieldnames}")
        return [(row["id"], row["label"]) for row in reader]


def _read_json(path: Path) -> list[tuple[str, Any]]:
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValidationError(f"cannot read {path} as JSON: {exc}") from None
    samples = content.get("samples") if isinstance(content, dict) else content
    if not isinstance(samples, list) or not all(isinstance(s, dict) and "id" in s for s in samples):
        raise ValidationError(f"{path} needs a list of samples with 'id' and 'label' keys")
    return [(str(s["id"]), s.get("label")) for s in samples]


def _read_tree(path: Path) -> list[tuple[str, Any]]:
    pairs = []
    for folder in sorted(p for p in path.iterdir() if p.is_dir()):
        label = None if folder.name == UNLABELED else folder.name
        pairs += [(f.stem, label) for f in sorted(folder.iterdir()) if f.is_file()]
    if not pairs:
        raise ValidationError(f"{path} has no labels.csv, labels.json or class folders of images")
    return pairs


def _check_classes(dataset: ReadableCollection, labelled: dict[str, str]) -> None:
    classes = set(dataset.default_classes)
    unknown = sorted({label for label in labelled.values() if label not in classes})
    if classes and unknown:
        raise ValidationError(f"labels {unknown[:5]} are not classes of dataset {dataset.name!r} "
                              f"({sorted(classes)}); fix them or extend default_classes first")


def _current_labels(dataset: ReadableCollection, label_field: str, ids: list[str]) -> dict[str, str | None]:
    """The stored label of each id (None when unset); unknown ids fail."""
    if not ids:
        return {}
    schema = dataset.get_field_schema()
    if label_field in schema:
        check_label_field(schema, label_field, role="label_field", supports="review", error=ValidationError)
    current: dict[str, str | None] = {}
    paths = [f"{label_field}.label"] if label_field in schema else []
    for batch in dataset.select(ids).iter_batches(paths, batch_size=BATCH):
        labels = batch[paths[0]] if paths else [None] * len(batch["id"])
        current.update(zip(batch["id"], labels))
    missing = [sid for sid in ids if sid not in current]
    if missing:
        raise ValidationError(f"{len(missing)} sample ids are not in dataset {dataset.name!r} "
                              f"(e.g. {missing[0]}); nothing was imported")
    return current
