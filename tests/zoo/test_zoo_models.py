"""The model zoo: cached weights offline, checked downloads, transforms, classes and embeddings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from labellens.errors import DownloadError, ValidationError
from labellens.zoo import ZooModel, list_zoo_models, load_zoo_model
from labellens.zoo import models as zoo_models
from labellens.zoo.datasets import CIFAR10_CLASSES


def test_cifar_model_loads_offline_from_the_cache(model_cache: Path) -> None:
    model = load_zoo_model("cifar10-resnet56", download=False)
    assert isinstance(model, ZooModel) and model.classes == list(CIFAR10_CLASSES)
    assert not model.training
    images = torch.rand(2, 3, 32, 32)
    with torch.inference_mode():
        logits = model(images)
        features = model.embed(images)
        assert torch.allclose(features, model.net.features(images))
        assert torch.allclose(model.net.linear(features), logits)
    assert logits.shape == (2, 10) and features.shape == (2, 64)
    assert model.embedding_layer == "linear"


def test_cifar_transform_matches_the_published_preprocessing(model_cache: Path) -> None:
    model = load_zoo_model("cifar10-resnet20")
    tensor = model.transform(Image.fromarray(np.full((32, 32, 3), 128, dtype=np.uint8)))
    expected = (torch.tensor([128 / 255] * 3) - torch.tensor(zoo_models.CIFAR_MEAN)) / torch.tensor(
        zoo_models.CIFAR_STD)
    assert tensor.shape == (3, 32, 32) and torch.allclose(tensor[:, 0, 0], expected, atol=1e-6)


def test_missing_weights_without_download_say_where_to_put_them(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABELLENS_MODEL_DIR", str(tmp_path))
    with pytest.raises(DownloadError, match="resnet32-d509ac18.th") as info:
        load_zoo_model("cifar10-resnet32", download=False)
    assert str(tmp_path) in str(info.value) and "https://github.com/akamaster" in str(info.value)


def test_download_checks_the_sha256_and_then_works_offline(shared_models_dir: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zoo_models, "CIFAR_URL", shared_models_dir.as_uri() + "/")
    cache = tmp_path / "cache"
    model = load_zoo_model("cifar10-resnet20", model_dir=cache, progress=False)
    assert model.name == "cifar10-resnet20"
    assert sorted(p.name for p in cache.iterdir()) == ["resnet20-12fca82f.th"]
    monkeypatch.setattr(zoo_models, "CIFAR_URL", "http://127.0.0.1:9/unreachable/")
    assert load_zoo_model("cifar10-resnet20", model_dir=cache).name == "cifar10-resnet20"


def test_a_download_with_the_wrong_checksum_is_not_kept(shared_models_dir: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zoo_models, "CIFAR_URL", shared_models_dir.as_uri() + "/")
    depth, name, _ = zoo_models.CIFAR_MODELS["cifar10-resnet20"]
    monkeypatch.setitem(zoo_models.CIFAR_MODELS, "cifar10-resnet20", (depth, name, "0" * 64))
    with pytest.raises(DownloadError, match="sha256"):
        load_zoo_model("cifar10-resnet20", model_dir=tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_no_network_gives_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zoo_models, "CIFAR_URL", "http://127.0.0.1:9/unreachable/")
    with pytest.raises(DownloadError, match="put it at"):
        load_zoo_model("cifar10-resnet44", model_dir=tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_a_corrupt_cached_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "resnet20-12fca82f.th").write_bytes(b"not weights")
    with pytest.raises(DownloadError, match="delete it"):
        load_zoo_model("cifar10-resnet20", model_dir=tmp_path)


def test_torchvision_models_load_from_the_cache(tmp_path: Path) -> None:
    weights = torchvision.models.ResNet18_Weights.DEFAULT
    torch.save(torchvision.models.resnet18().state_dict(), tmp_path / weights.url.rsplit("/", 1)[-1])
    model = load_zoo_model("torchvision-resnet18", model_dir=tmp_path, download=False)
    assert len(model.classes) == 1000 and model.classes[0] == weights.meta["categories"][0]
    image = torchvision.transforms.functional.to_pil_image(torch.rand(3, 40, 50))
    batch = model.transform(image)[None]
    assert batch.shape == (1, 3, 224, 224)
    with torch.inference_mode():
        assert model(batch).shape == (1, 1000) and model.embed(batch).shape == (1, 512)
    with pytest.raises(DownloadError, match="resnet34"):
        load_zoo_model("torchvision-resnet34", model_dir=tmp_path, download=False)


def test_zoo_lists_and_unknown_names() -> None:
    names = list_zoo_models()
    assert names[:4] == ["cifar10-resnet20", "cifar10-resnet32", "cifar10-resnet44", "cifar10-resnet56"]
    assert "torchvision-resnet18" in names
    with pytest.raises(ValidationError, match="cifar10-resnet56"):
        load_zoo_model("resnet1000")
    with pytest.raises(ValidationError, match="no classification model"):
        load_zoo_model("torchvision-not-a-model")


def test_import_labellens_and_the_dataset_zoo_never_import_torch() -> None:
    code = ("import sys, labellens, labellens.zoo, labellens.types, labellens.dataset.importers; "
            "labellens.zoo.list_zoo_datasets(); assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_without_torch_the_error_says_what_to_install() -> None:
    code = """
import sys

class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "torchvision"):
            raise ImportError(f"No module named {name!r}")

sys.meta_path.insert(0, NoTorch())
from labellens.errors import MissingDependencyError
import labellens.zoo
assert labellens.zoo.list_zoo_datasets()
for attempt in (lambda: labellens.zoo.load_zoo_model, lambda: __import__("labellens.inference")):
    try:
        attempt()
    except MissingDependencyError as exc:
        assert "pip install 'labellens[torch]'" in str(exc), exc
    else:
        raise AssertionError("no MissingDependencyError")
"""
    subprocess.run([sys.executable, "-c", code], check=True)
