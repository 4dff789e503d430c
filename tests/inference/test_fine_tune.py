"""Fine-tuned out-of-sample predictions on a tiny conv net and 8x8 images: folds disjoint, every
sample predicted once by a model that never saw it, resume after a killed fold, bad arguments
refused before anything is written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import labellens as ll
from labellens import brain
from labellens.errors import LabelLensError
from labellens.fields import ARRAY, CLASSIFICATION
from labellens.inference import fine_tune as ft

CLASSES = ["red", "green", "blue"]
FAST = {"batch_size": 8, "num_workers": 0}


class TinyNet(nn.Module):
    """Conv -> ReLU -> mean pool -> linear: 4-d embeddings, 3 logits (the same start every time)."""

    def __init__(self, num_classes: int = 3) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.head = nn.Linear(4, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.conv(images)).mean(dim=(2, 3)))


def _images(folder: Path, count: int, prefix: str, seed: int) -> list[ll.Sample]:
    """``count`` 8x8 images whose dominant colour channel is their class, with noise."""
    rng = np.random.default_rng(seed)
    folder.mkdir(exist_ok=True)
    samples = []
    for i in range(count):
        cls = i % 3
        pixels = rng.integers(0, 90, (8, 8, 3))
        pixels[..., cls] += 160
        path = folder / f"{prefix}{i:03d}.png"
        Image.fromarray(pixels.astype(np.uint8)).save(path)
        samples.append(ll.Sample(path, ground_truth=ll.Classification(label=CLASSES[cls])))
    return samples


@pytest.fixture
def datasets(backend: str, tmp_path: Path) -> tuple[ll.Dataset, ll.Dataset]:
    """30 samples to predict and a separate 12-sample train split."""
    test, train = ll.Dataset(), ll.Dataset()
    test.add_samples(_images(tmp_path / "test", 30, "t", 0))
    train.add_samples(_images(tmp_path / "train", 12, "x", 1))
    test.default_classes = train.default_classes = CLASSES
    return test, train


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, list]:
    """Record the images each fold trains on and the samples it predicts."""
    seen: dict[str, list] = {"train": [], "predict": []}
    real_fine_tune, real_predict = ft.fine_tune, ft.predict_with_embeddings

    def fine_tune(model, paths, labels, settings, **kwargs):  # type: ignore[no-untyped-def]
        seen["train"].append(list(paths))
        return real_fine_tune(model, paths, labels, settings, **kwargs)

    def predict(model, paths, ids, settings, **kwargs):  # type: ignore[no-untyped-def]
        seen["predict"].append((list(paths), list(ids)))
        return real_predict(model, paths, ids, settings, **kwargs)

    monkeypatch.setattr(ft, "fine_tune", fine_tune)
    monkeypatch.setattr(ft, "predict_with_embeddings", predict)
    return seen


def test_fine_tune_trains_a_copy(tmp_path: Path) -> None:
    samples = _images(tmp_path, 30, "s", 0)
    paths, labels = [s.filepath for s in samples], [i % 3 for i in range(30)]
    model = TinyNet()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trained, failures = ft.fine_tune(model, paths, labels, ft.FineTuneSettings(epochs=15, lr=0.1, **FAST),
                                     progress=False)
    assert not failures and not trained.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # the original is untouched
    ids, logits, embeddings, _ = ft.predict_with_embeddings(trained, paths, list(range(30)),
                                                            ft.FineTuneSettings(**FAST), progress=False)
    assert ids == list(range(30)) and logits.shape == (30, 3) and embeddings.shape == (30, 4)
    assert (logits.argmax(axis=1) == labels).mean() > 0.9


def test_folds_are_disjoint_and_every_sample_is_predicted_once(datasets: tuple[ll.Dataset, ll.Dataset],
                                                               calls: dict[str, list]) -> None:
    test, train = datasets
    summary = brain.compute_out_of_sample_predictions(test, model=TinyNet(), num_folds=3, epochs=2,
                                                      extra_train=train, progress=False, **FAST)
    extra = set(train.values("filepath"))
    predicted = [set(ids) for _, ids in calls["predict"]]
    assert len(predicted) == 3 and sum(map(len, predicted)) == len(set().union(*predicted)) == 30
    assert set().union(*predicted) == set(test.values("id"))
    for trained_on, (held_out, _) in zip(calls["train"], calls["predict"]):
        assert not set(trained_on) & set(held_out) and extra <= set(trained_on)
        assert len(trained_on) == 30 - len(held_out) + 12
    schema = test.get_field_schema()
    assert schema["oos_predictions"] == CLASSIFICATION and schema["oos_predictions_embeddings"] == ARRAY
    assert test.values("oos_predictions.logits", as_numpy=True).shape == (30, 3)
    assert test.values("oos_predictions_embeddings", as_numpy=True).shape == (30, 4)
    assert "oos_predictions" not in train.get_field_schema()
    assert (summary.num_samples, summary.folds_run, summary.classes) == (30, [0, 1, 2], CLASSES)
    assert 0 <= summary.agreement <= 1
    assert test.get_brain_info("oos_predictions")["config"]["folds_done"] == [0, 1, 2]


def test_a_killed_run_resumes_from_the_last_finished_fold(datasets: tuple[ll.Dataset, ll.Dataset],
                                                          calls: dict[str, list],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    test, _ = datasets
    recording = ft.predict_with_embeddings

    def killed_in_fold_2(model, paths, ids, settings, **kwargs):  # type: ignore[no-untyped-def]
        if len(calls["predict"]) == 1:
            raise KeyboardInterrupt("killed")
        return recording(model, paths, ids, settings, **kwargs)

    monkeypatch.setattr(ft, "predict_with_embeddings", killed_in_fold_2)
    with pytest.raises(KeyboardInterrupt):
        brain.compute_out_of_sample_predictions(test, model=TinyNet(), num_folds=3, epochs=1,
                                                progress=False, **FAST)
    assert test.get_brain_info("oos_predictions")["config"]["folds_done"] == [0]
    first = set(calls["predict"][0][1])
    assert test.count("oos_predictions") == len(first)
    monkeypatch.setattr(ft, "predict_with_embeddings", recording)
    calls["train"].clear()
    calls["predict"].clear()
    summary = brain.compute_out_of_sample_predictions(test, model=TinyNet(), num_folds=3, epochs=1,
                                                      progress=False, **FAST)
    assert summary.folds_run == [1, 2] and len(calls["train"]) == 2
    assert not first & set().union(*(set(ids) for _, ids in calls["predict"]))  # fold 0 is not redone
    assert test.count("oos_predictions") == 30 and summary.num_samples == 30
    again = brain.compute_out_of_sample_predictions(test, model=TinyNet(), num_folds=3, epochs=1,
                                                    progress=False, **FAST)
    assert again.folds_run == [] and len(calls["train"]) == 2
    changed = brain.compute_out_of_sample_predictions(test, model=TinyNet(), num_folds=3, epochs=2,
                                                      progress=False, **FAST)
    assert changed.folds_run == [0, 1, 2]  # other settings: nothing is reused


def test_folds_and_training_are_seeded(datasets: tuple[ll.Dataset, ll.Dataset],
                                       calls: dict[str, list]) -> None:
    test, _ = datasets
    for field in ("first", "second"):
        brain.compute_out_of_sample_predictions(test, model=TinyNet(), pred_field=field, num_folds=3,
                                                epochs=1, progress=False, **FAST)
    assert [ids for _, ids in calls["predict"][:3]] == [ids for _, ids in calls["predict"][3:]]
    np.testing.assert_allclose(test.values("first.logits", as_numpy=True),
                               test.values("second.logits", as_numpy=True), rtol=1e-5)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"epochs": 0}, "epochs"),
    ({"num_folds": 1}, "num_folds"),
    ({"lr": -1.0}, "lr"),
    ({"batch_size": 0}, "batch_size"),
    ({"momentum": 0.5}, "no fine-tuning option 'momentum'"),
    ({"model": "resnet"}, "torch.nn.Module"),
    ({"model": TinyNet(num_classes=5)}, "shape"),
    ({"embeddings_field": "emb"}, "not both"),
    ({"extra_train": "train"}, "extra_train must be"),
    ({"extra_train": "overlap"}, "also in samples"),
    ({"label_field": "missing"}, "missing"),
    ({"pred_field": "ground_truth"}, "overwrite"),
])
def test_bad_arguments_are_refused_and_write_nothing(datasets: tuple[ll.Dataset, ll.Dataset],
                                                     kwargs: dict, match: str) -> None:
    test, _ = datasets
    if kwargs.get("extra_train") == "overlap":
        kwargs = {"extra_train": test.limit(3)}
    arguments = {"model": TinyNet(), "num_folds": 3, "epochs": 1, "progress": False, **FAST, **kwargs}
    before = test.get_field_schema()
    with pytest.raises(LabelLensError, match=match):
        brain.compute_out_of_sample_predictions(test, **arguments)
    assert test.get_field_schema() == before and test.list_brain_runs() == []
