"""On real data: planted near duplicates and darkened / blurred copies of shared CIFAR-10 test JPEGs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageEnhance, ImageFilter

import labellens as ll
from labellens.brain.duplicates import compute_near_duplicates
from labellens.brain.image_quality import compute_image_quality
from labellens.zoo import load_zoo_model

ORIGINALS = 20  # per class
PLANTED = 5  # near copies, darkened and blurred copies each


@pytest.fixture(scope="module")
def cifar_images(cifar10_test_dir: Path, shared_models_dir: Path, tmp_path_factory: pytest.TempPathFactory
                 ) -> tuple[list[Path], np.ndarray, dict[str, list[int]]]:
    """200 originals plus planted copies written beside them, and ResNet-56 embeddings of every file.

    Planted (of originals 1, 41, 81, ...; original 80 is itself blurry by CleanVision's threshold, as
    are 3% of these JPEGs): a near copy (brightness x1.03, saved as PNG), a darkened
    copy (brightness x0.2) and a blurred copy (Gaussian radius 2), both saved as JPEG.
    """
    root = tmp_path_factory.mktemp("cifar_issues")
    folders = sorted(cifar10_test_dir.iterdir())
    originals = [p for folder in folders for p in sorted(folder.iterdir())[:ORIGINALS]]
    paths = list(originals)
    planted: dict[str, list[int]] = {"source": [], "near": [], "dark": [], "blur": []}
    for n, source in enumerate(originals[1::len(originals) // PLANTED][:PLANTED]):
        image = Image.open(source).convert("RGB")
        planted["source"].append(paths.index(source))
        for kind, changed in (("near", ImageEnhance.Brightness(image).enhance(1.03)),
                              ("dark", ImageEnhance.Brightness(image).enhance(0.2)),
                              ("blur", image.filter(ImageFilter.GaussianBlur(2)))):
            target = root / (f"{kind}_{n}.png" if kind == "near" else f"{kind}_{n}.jpg")
            changed.save(target, **({} if kind == "near" else {"quality": 90}))
            planted[kind].append(len(paths))
            paths.append(target)
    with pytest.MonkeyPatch.context() as patch:
        cache = tmp_path_factory.mktemp("models")
        (cache / "resnet56-4bfd9763.th").symlink_to(shared_models_dir / "resnet56-4bfd9763.th")
        patch.setenv("LABELLENS_MODEL_DIR", str(cache))
        model = load_zoo_model("cifar10-resnet56", download=False)
    with torch.inference_mode():
        batch = torch.stack([model.transform(Image.open(p).convert("RGB")) for p in paths])
        embeddings = model.embed(batch).numpy()
    return paths, embeddings, planted


def test_planted_near_duplicates_are_found(backend: str, cifar_images) -> None:
    paths, embeddings, planted = cifar_images
    ds = ll.Dataset()
    ds.add_samples(ll.Sample(filepath=str(p), emb=e) for p, e in zip(paths, embeddings))
    duplicate = ll.Sample(filepath=str(paths[7]), emb=embeddings[7])  # the same file twice
    ds.add_sample(duplicate)
    summary = compute_near_duplicates(ds, "emb")
    group, keep = ds.values("near_dup_group"), ds.values("near_dup_keep")
    for source, copy in zip(planted["source"], planted["near"]):
        assert group[copy] is not None and group[copy] == group[source], (source, copy)
        assert keep[source] is True and keep[copy] is False
    assert group[7] == group[-1] is not None and ds.values("near_dup_exact")[-1] is True
    # beyond the planted copies, at most a few pairs (CIFAR-10 has some real near duplicates)
    assert summary.num_to_drop <= PLANTED + 1 + 3


def test_darkened_and_blurred_copies_are_flagged_not_their_originals(backend: str, cifar_images) -> None:
    paths, _, planted = cifar_images
    ds = ll.Dataset()
    ds.add_samples(ll.Sample(filepath=str(p)) for p in paths)
    compute_image_quality(ds, progress=False)
    dark, blurry = ds.values("quality_dark_flag"), ds.values("quality_blurry_flag")
    assert all(dark[i] for i in planted["dark"]) and not any(dark[i] for i in planted["source"])
    assert all(blurry[i] for i in planted["blur"]) and not any(blurry[i] for i in planted["source"])
    assert not any(blurry[i] for i in planted["dark"])  # dark images are not called blurry as well
    assert sum(dark[:len(paths) - 3 * PLANTED]) <= 4
