"""apply_model on mongomock and a real mongod: predictions, bulk writes, resuming, bad images."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import labellens as ll
from labellens.dataset.collection import SampleCollection
from labellens.dataset.dataset import Dataset
from labellens.errors import InvalidFieldNameError, ValidationError
from labellens.inference import apply_model
from labellens.zoo import load_zoo_model

CIFAR10 = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def make_dataset(tree, classes: list[str] | None = None) -> ll.Dataset:
    dataset = ll.Dataset()
    files = sorted([*tree.good, *tree.bad])
    dataset.add_samples(ll.Sample(p, ground_truth=ll.Classification(label=p.parent.name)) for p in files)
    dataset.default_classes = CIFAR10 if classes is None else classes
    return dataset


class MeanColour(nn.Module):
    """A tiny 'classifier': logits are the mean R, G and B of the image."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return images.mean(dim=(2, 3))


@pytest.fixture
def counted_writes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Sizes of the set_values calls; a per-sample save fails the test."""
    sizes: list[int] = []
    original = SampleCollection.set_values

    def spy(self, path, values, *, ids=None):
        sizes.append(len(values))
        return original(self, path, values, ids=ids)

    def no_save(self, samples):
        raise AssertionError("apply_model must not save samples one by one")

    monkeypatch.setattr(SampleCollection, "set_values", spy)
    monkeypatch.setattr(Dataset, "save_samples", no_save)
    return sizes


def test_predictions_with_logits_bulk_writes_and_unreadable_images(backend, image_tree, model_cache,
                                                                     counted_writes) -> None:
    dataset = make_dataset(image_tree)
    model = load_zoo_model("cifar10-resnet20")
    with pytest.warns(UserWarning, match="3 images could not be read"):
        summary = apply_model(dataset, model, "resnet20", batch_size=8, num_workers=0, progress=False)
    assert summary.processed == len(image_tree.good) and summary.skipped_existing == 0
    assert summary.num_unreadable == 3
    assert {f.path for f in summary.unreadable} == {str(p) for p in image_tree.bad}
    assert counted_writes and sum(counted_writes) == len(image_tree.good) and max(counted_writes) <= 8
    assert summary.total_s >= summary.decode_s + summary.model_s + summary.write_s > 0

    preds = dict(zip(dataset.values("filepath"), dataset.values("resnet20")))
    assert all(preds[str(p)] is None for p in image_tree.bad)
    path = str(image_tree.good[0])
    with torch.inference_mode():
        expected = model(model.transform(Image.open(path).convert("RGB"))[None]).numpy()[0]
    stored = preds[path]
    assert np.allclose(stored.logits, expected, atol=1e-4)
    assert stored.label == model.classes[int(expected.argmax())]
    odds = np.exp(stored.logits.astype(np.float64) - stored.logits.max())
    assert stored.confidence == pytest.approx(float(odds.max() / odds.sum()), abs=1e-9)
    truth = [p.parent.name for p in image_tree.good]
    labels = [preds[str(p)].label for p in image_tree.good]
    assert sum(a == b for a, b in zip(labels, truth)) >= len(truth) // 2
    assert dataset.get_field_schema()["resnet20"] == "EmbeddedDocumentField(Classification)"


def test_skip_existing_resumes_a_stopped_run(backend, image_tree, model_cache) -> None:
    dataset = make_dataset(image_tree)
    model = load_zoo_model("cifar10-resnet20")
    first = dataset.match(ll.F("filepath").ends_with(".jpg")).limit(5)
    done = apply_model(first, model, "pred", num_workers=0, progress=False)
    assert done.processed == 5
    before = dict(zip(first.values("id"), first.values("pred.id")))
    with pytest.warns(UserWarning):
        resumed = apply_model(dataset, model, "pred", skip_existing=True, num_workers=1, progress=False)
    assert resumed.skipped_existing == 5
    assert resumed.processed == len(image_tree.good) - 5 and resumed.num_unreadable == 3
    after = dict(zip(dataset.values("id"), dataset.values("pred.id")))
    assert all(after[i] == label_id for i, label_id in before.items())
    assert sum(v is not None for v in after.values()) == len(image_tree.good)


def test_any_module_with_transform_and_classes_from_the_dataset(backend, image_tree) -> None:
    dataset = make_dataset(image_tree, classes=["red", "green", "blue"])
    good = {str(p) for p in image_tree.good}
    view = dataset.select([i for i, p in zip(dataset.values("id"), dataset.values("filepath")) if p in good])
    summary = apply_model(view, MeanColour(), "colour", store_logits=False, batch_size=4,
                          num_workers=0, progress=False)
    assert summary.processed == len(image_tree.good)
    values = view.values("colour")
    assert all(v.label in {"red", "green", "blue"} and v.logits is None for v in values)
    path, label = view.values("filepath")[0], values[0]
    pixels = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64).mean(axis=(0, 1))
    assert label.label == ["red", "green", "blue"][int(pixels.argmax())]


def test_bad_arguments_fail_before_anything_is_written(backend, image_tree) -> None:
    dataset = make_dataset(image_tree, classes=[])
    with pytest.raises(ValidationError, match="class names"):
        apply_model(dataset, MeanColour(), "p", progress=False)
    with pytest.raises(ValidationError, match="3 classes|shape"):
        apply_model(dataset, MeanColour(), "p", classes=["a", "b"], num_workers=0, progress=False)
    with pytest.raises(ValidationError, match="torch.nn.Module"):
        apply_model(dataset, lambda x: x, "p", classes=["a"], progress=False)
    with pytest.raises(ValidationError, match="batch_size"):
        apply_model(dataset, MeanColour(), "p", classes=["a", "b", "c"], batch_size=0, progress=False)
    with pytest.raises(InvalidFieldNameError):
        apply_model(dataset, MeanColour(), "p.label", classes=["a", "b", "c"], progress=False)
    with pytest.raises(ValidationError, match="Dataset or view"):
        apply_model(dataset.values("filepath"), MeanColour(), "p", classes=["a", "b", "c"], progress=False)
    assert "p" not in dataset.get_field_schema()
