"""Images that are missing, empty, truncated or not images: skipped and reported, never fatal."""

from __future__ import annotations

from pathlib import Path

import pytest

import labellens as ll

pytest.importorskip("torch")
inference = pytest.importorskip("labellens.inference")
from tiny_images import CLASSES, MeanColour, noise_png, png_bytes  # noqa: E402

GOOD = 6


@pytest.fixture
def image_dir(tmp_path: Path) -> dict[str, list[str]]:
    """Good PNGs, files no reader can open ("bad"), and a PNG cut in its pixel data ("cut").

    The cut PNG has an intact header: its metadata can be read, its pixels cannot.
    """
    good = []
    for i in range(GOOD):
        path = tmp_path / f"good{i}.png"
        path.write_bytes(png_bytes(40 * i))
        good.append(str(path))
    bad = {"missing": tmp_path / "missing.png", "empty": tmp_path / "empty.png",
           "truncated": tmp_path / "truncated.png", "not_an_image": tmp_path / "notes.png"}
    bad["empty"].write_bytes(b"")
    bad["truncated"].write_bytes(png_bytes(128)[:40])
    bad["not_an_image"].write_text("this is a text file\n")
    cut = tmp_path / "cut.png"
    data = noise_png()
    cut.write_bytes(data[:len(data) // 2])
    return {"good": good, "bad": [str(p) for p in bad.values()], "cut": [str(cut)]}


@pytest.fixture
def dataset(backend: str, image_dir: dict[str, list[str]]) -> ll.Dataset:
    dataset = ll.Dataset()
    paths = [*image_dir["good"], *image_dir["bad"], *image_dir["cut"]]
    dataset.add_samples(ll.Sample(filepath=p) for p in paths)
    return dataset


def test_compute_metadata_skips_and_reports_bad_images(dataset: ll.Dataset,
                                                       image_dir: dict[str, list[str]]) -> None:
    with pytest.warns(UserWarning, match="4 images could not be read"):
        failed = dataset.compute_metadata()
    assert sorted(failed) == sorted(image_dir["bad"])
    widths = dict(zip(dataset.values("filepath"), dataset.values("metadata.width")))
    assert all(widths[p] == 8 for p in image_dir["good"])
    assert all(widths[p] is None for p in image_dir["bad"])
    assert widths[image_dir["cut"][0]] == 64


def test_apply_model_skips_and_reports_bad_images(dataset: ll.Dataset,
                                                  image_dir: dict[str, list[str]]) -> None:
    with pytest.warns(UserWarning, match="5 images could not be read"):
        summary = inference.apply_model(dataset, MeanColour(), "pred", classes=CLASSES, batch_size=4,
                                        num_workers=0, progress=False)
    assert summary.processed == GOOD
    unreadable = [*image_dir["bad"], *image_dir["cut"]]
    assert sorted(f.path for f in summary.unreadable) == sorted(unreadable)
    assert all(f.reason for f in summary.unreadable)
    labels = dict(zip(dataset.values("filepath"), dataset.values("pred.label")))
    assert [labels[p] for p in image_dir["good"]] == ["dark"] * 4 + ["light"] * 2
    assert all(labels[p] is None for p in unreadable)
    with pytest.warns(UserWarning, match="5 images could not be read"):  # they have no 'pred': tried again
        again = inference.apply_model(dataset, MeanColour(), "pred", classes=CLASSES, skip_existing=True,
                                      num_workers=0, progress=False)
    assert again.skipped_existing == GOOD and again.processed == 0
