"""Dataset.from_dir: image-classification trees (the shared CIFAR-10 test JPEGs) and image folders."""

from __future__ import annotations

from pathlib import Path

import pytest

import labellens as ll
from labellens import types
from labellens.dataset.importers import list_images, natural_key
from labellens.errors import InvalidFieldNameError, ValidationError

CIFAR10 = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def test_classification_tree_of_the_cifar10_test_jpegs(backend, cifar10_test_dir: Path) -> None:
    dataset = ll.Dataset.from_dir(cifar10_test_dir, types.ImageClassificationDirectoryTree,
                                  name="cifar10-jpg", tags="test")
    assert dataset.name == "cifar10-jpg" and len(dataset) == 10_000
    assert dataset.default_classes == CIFAR10
    assert dataset.count_values("ground_truth.label") == dict.fromkeys(CIFAR10, 1000)
    assert dataset.distinct("tags") == ["test"]
    paths, labels = dataset.values("filepath"), dataset.values("ground_truth.label")
    assert all(Path(p).parent.name == label for p, label in zip(paths, labels))
    indices = sorted(int(Path(p).stem) for p in paths)
    assert indices == list(range(10_000))
    assert paths[:2] == [str(cifar10_test_dir / "airplane" / n) for n in sorted(
        p.name for p in (cifar10_test_dir / "airplane").iterdir())[:2]]
    assert dataset.get_field_schema()["ground_truth"] == "EmbeddedDocumentField(Classification)"


def test_custom_label_field_and_unlabelled_image_directory(backend, tmp_path: Path) -> None:
    layout = {"a": ["img10.png", "img2.png", "notes.txt", ".hidden.png"], "b/c": ["x.JPG"]}
    for folder, names in layout.items():
        (tmp_path / folder).mkdir(parents=True)
        for name in names:
            (tmp_path / folder / name).write_bytes(b"")
    tree = ll.Dataset.from_dir(tmp_path, label_field="truth")
    assert tree.values("truth.label") == ["a", "a", "b"] and tree.default_classes == ["a", "b"]
    assert [Path(p).name for p in tree.values("filepath")] == ["img2.png", "img10.png", "x.JPG"]
    flat = ll.Dataset.from_dir(tmp_path / "a", dataset_type=types.ImageDirectory(), tags=["raw"])
    assert [Path(p).name for p in flat.values("filepath")] == ["img2.png", "img10.png"]
    assert flat.default_classes == [] and "ground_truth" not in flat.get_field_schema()
    assert flat.distinct("tags") == ["raw"]
    nested = ll.Dataset.from_dir(tmp_path, dataset_type=types.ImageDirectory)
    assert [Path(p).name for p in nested.values("filepath")] == ["img2.png", "img10.png", "x.JPG"]


def test_bad_input_leaves_no_dataset_behind(backend, tmp_path: Path) -> None:
    before = ll.list_datasets()
    with pytest.raises(ValidationError, match="not a folder"):
        ll.Dataset.from_dir(tmp_path / "missing")
    with pytest.raises(ValidationError, match="no class folders"):
        ll.Dataset.from_dir(tmp_path)
    (tmp_path / "cat").mkdir()
    with pytest.raises(ValidationError, match="no images"):
        ll.Dataset.from_dir(tmp_path)
    (tmp_path / "cat" / "1.png").write_bytes(b"")
    with pytest.raises(ValidationError, match="unsupported dataset_type"):
        ll.Dataset.from_dir(tmp_path, dataset_type=str)
    with pytest.raises(InvalidFieldNameError):
        ll.Dataset.from_dir(tmp_path, label_field="bad.name")
    assert ll.list_datasets() == before


def test_natural_order_of_file_names(tmp_path: Path) -> None:
    assert sorted(["b10", "b9", "a", "B2"], key=natural_key) == ["a", "B2", "b9", "b10"]
    for name in ["10.png", "9.png", "x.gif"]:
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in list_images(tmp_path)] == ["9.png", "10.png", "x.gif"]
