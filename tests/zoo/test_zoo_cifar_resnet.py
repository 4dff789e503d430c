"""The CIFAR ResNet module: architecture facts from the paper, checkpoint loading, and accuracy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from labellens.errors import ValidationError
from labellens.inference import TorchImageDataset, collate_images
from labellens.zoo import load_zoo_model
from labellens.zoo.cifar_resnet import BasicBlock, CifarResNet, load_checkpoint


@pytest.mark.parametrize(("depth", "params_m"), [(20, 0.27), (56, 0.85)])
def test_depth_and_size_match_the_paper(depth: int, params_m: float) -> None:
    net = CifarResNet(depth).eval()
    convs = sum(isinstance(m, torch.nn.Conv2d) for m in net.modules())
    assert convs + 1 == depth
    assert round(sum(p.numel() for p in net.parameters()) / 1e6, 2) == params_m
    with torch.inference_mode():
        assert net(torch.rand(2, 3, 32, 32)).shape == (2, 10)
        assert net.features(torch.rand(2, 3, 32, 32)).shape == (2, 64)


def test_option_a_shortcut_subsamples_and_zero_pads_channels() -> None:
    block = BasicBlock(16, 32, stride=2)
    x = torch.rand(1, 16, 8, 8)
    out = block.shortcut(x)
    assert out.shape == (1, 32, 4, 4)
    assert torch.equal(out[:, 8:24], x[:, :, ::2, ::2])
    assert not out[:, :8].any() and not out[:, 24:].any()
    assert sum(p.numel() for n, p in block.named_parameters() if "conv" not in n and "bn" not in n) == 0


def test_checkpoints_load_with_the_module_prefix_stripped(shared_models_dir: Path) -> None:
    net = load_checkpoint(CifarResNet(20), shared_models_dir / "resnet20-12fca82f.th")
    raw = torch.load(shared_models_dir / "resnet20-12fca82f.th", map_location="cpu",
                     weights_only=True)["state_dict"]
    assert torch.equal(net.linear.weight, raw["module.linear.weight"]) and not net.training
    with pytest.raises(ValidationError, match="does not fit"):
        load_checkpoint(CifarResNet(32), shared_models_dir / "resnet20-12fca82f.th")
    with pytest.raises(ValidationError, match="depth"):
        CifarResNet(21)


def test_resnet56_scores_about_83_percent_on_the_shared_jpegs(cifar10_test_dir: Path,
                                                              model_cache: Path) -> None:
    model = load_zoo_model("cifar10-resnet56", download=False)
    paths = sorted(cifar10_test_dir.glob("*/*.jpg"))
    assert len(paths) == 10_000
    truth = [model.classes.index(p.parent.name) for p in paths]
    dataset = TorchImageDataset(paths, sample_ids=list(range(len(paths))), transform=model.transform)
    predicted = np.full(len(paths), -1)
    with torch.inference_mode():
        for batch in DataLoader(dataset, batch_size=500, num_workers=1, collate_fn=collate_images):
            predicted[batch.ids] = model(batch.images).argmax(dim=1).numpy()
    accuracy = float((predicted == np.array(truth)).mean())
    print(f"cifar10-resnet56 top-1 on the shared CIFAR-10 test JPEGs: {accuracy:.2%}")
    assert 0.80 <= accuracy <= 0.86
