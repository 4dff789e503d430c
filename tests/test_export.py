"""Export a view for review and import the reviewed labels back, on both backends."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

import labellens as ll
from labellens.dataset.exporters import export_view, import_labels
from labellens.errors import FieldNotFoundError, ValidationError

CLASSES = ["cat", "dog", "frog"]


@pytest.fixture
def dataset(backend: str, tmp_path: Path) -> ll.Dataset:
    """Six images: labels cat/dog/frog in turn, the last unlabelled; predictions and a score."""
    images = tmp_path / "images"
    images.mkdir()
    samples = []
    for i in range(6):
        path = images / f"{i}.png"
        Image.new("RGB", (4, 4), (40 * i, 0, 0)).save(path)
        truth = ll.Classification(label=CLASSES[i % 3]) if i < 5 else None
        samples.append(ll.Sample(filepath=str(path), ground_truth=truth,
                                 pred=ll.Classification(label="cat", confidence=0.5 + i / 20)))
    ds = ll.Dataset()
    ds.default_classes = CLASSES
    ds.add_samples(samples)
    ds.set_values("mistakenness", [i / 10 for i in range(6)])
    return ds


def _labels(ds: ll.Dataset) -> dict[str, str | None]:
    return dict(zip(ds.values("id"), ds.values("ground_truth.label")))


def test_csv_round_trip_changes_and_tags_only_edited_rows(dataset: ll.Dataset, tmp_path: Path) -> None:
    view = dataset.sort_by("mistakenness", reverse=True).limit(4)
    path = export_view(view, tmp_path / "out", "csv", pred_field="pred", score_fields=["mistakenness"])
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["id"] for r in rows] == view.values("id")
    assert rows[0]["label"] == "" and rows[1]["label"] == "dog"
    assert rows[1]["prediction"] == "cat" and float(rows[1]["confidence"]) == pytest.approx(0.7)
    assert float(rows[0]["mistakenness"]) == pytest.approx(0.5)
    assert rows[0]["filepath"].endswith("5.png")
    before = _labels(dataset)
    rows[0]["label"], rows[1]["label"] = "frog", "cat"
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    summary = import_labels(dataset, tmp_path / "out")

    assert (summary.total, summary.changed, summary.unchanged, summary.skipped) == (4, 2, 2, 0)
    after = _labels(dataset)
    assert after[rows[0]["id"]] == "frog" and after[rows[1]["id"]] == "cat"
    assert {k: v for k, v in after.items() if k not in summary.changed_ids} == \
        {k: v for k, v in before.items() if k not in summary.changed_ids}
    assert sorted(dataset.match_tags("reviewed").values("id")) == sorted([rows[0]["id"], rows[1]["id"]])
    edited = dataset[rows[1]["id"]]
    assert edited.ground_truth.label == "cat" and edited.pred.confidence == pytest.approx(0.7)


def test_json_round_trip_through_the_collection_methods(dataset: ll.Dataset, tmp_path: Path) -> None:
    path = dataset.export(tmp_path / "out", format="json", pred_field="pred")
    content = json.loads(path.read_text())
    assert content["classes"] == CLASSES and content["label_field"] == "ground_truth"
    assert len(content["samples"]) == 6 and content["samples"][5]["label"] is None
    content["samples"][0]["label"] = "dog"
    content["samples"][1]["label"] = ""
    path.write_text(json.dumps(content))

    summary = dataset.import_labels(path, tag="fixed")

    assert (summary.changed, summary.skipped) == (1, 2)
    assert dataset.count_values("tags") == {"fixed": 1}
    assert _labels(dataset)[content["samples"][0]["id"]] == "dog"


def test_image_directory_tree_round_trip(dataset: ll.Dataset, tmp_path: Path) -> None:
    out = export_view(dataset, tmp_path / "tree", "image-directory-tree", pred_field="pred",
                      score_fields=["mistakenness"])
    assert sorted(p.name for p in out.iterdir()) == ["_unlabeled", "cat", "dog", "frog", "samples.csv"]
    assert len(list((out / "cat").iterdir())) == 2
    moved = next((out / "dog").iterdir())
    shutil.move(moved, out / "frog" / moved.name)
    unlabeled = next((out / "_unlabeled").iterdir())
    shutil.move(unlabeled, out / "cat" / unlabeled.name)

    summary = import_labels(dataset, out)

    assert summary.changed == 2
    labels = _labels(dataset)
    assert labels[moved.stem] == "frog" and labels[unlabeled.stem] == "cat"
    assert sorted(dataset.match_tags("reviewed").values("id")) == sorted([moved.stem, unlabeled.stem])


def test_bad_imports_leave_the_dataset_unchanged(dataset: ll.Dataset, tmp_path: Path) -> None:
    ids = dataset.values("id")
    before = _labels(dataset)
    cases = {
        "unknown_class.csv": f"id,label\n{ids[0]},cat\n{ids[1]},wolf\n",
        "unknown_id.csv": f"id,label\n{ids[0]},frog\n{'0' * 24},cat\n",
        "duplicate.csv": f"id,label\n{ids[0]},frog\n{ids[0]},dog\n",
        "not_an_id.csv": f"id,label\n{ids[0]},frog\nabc,cat\n",
        "no_label_column.csv": f"id,class\n{ids[0]},frog\n",
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(ValidationError):
            import_labels(dataset, tmp_path / name)
    assert _labels(dataset) == before
    assert dataset.count_values("tags") == {}


def test_export_refuses_bad_arguments(dataset: ll.Dataset, tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("x")
    with pytest.raises(ValidationError, match="not an empty folder"):
        export_view(dataset, tmp_path / "full", "csv")
    with pytest.raises(ValidationError, match="unknown export format"):
        export_view(dataset, tmp_path / "a", "xml")  # type: ignore[arg-type]
    with pytest.raises(FieldNotFoundError):
        export_view(dataset, tmp_path / "b", "csv", pred_field="nope")
    with pytest.raises(ValidationError, match="Classification"):
        export_view(dataset, tmp_path / "c", "csv", label_field="mistakenness")
    assert sorted(p.name for p in (tmp_path / "full").iterdir()) == ["keep.txt"]


def test_tree_export_of_missing_images_fails_cleanly(dataset: ll.Dataset, tmp_path: Path) -> None:
    Path(dataset.first().filepath).unlink()
    with pytest.raises(ValidationError, match="do not exist"):
        export_view(dataset, tmp_path / "tree", "image-directory-tree")
    assert not (tmp_path / "tree").exists()
