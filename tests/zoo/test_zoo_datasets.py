"""The dataset zoo offline: CIFAR-10 from a small archive in the official format, and digits."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits

import labellens as ll
from labellens.errors import DatasetNotFoundError, DownloadError, ValidationError
from labellens.zoo import datasets as zoo_datasets
from labellens.zoo import list_zoo_datasets, load_zoo_dataset

CLASSES = list(zoo_datasets.CIFAR10_CLASSES)
PER_TRAIN_BATCH = 3
TEST_SIZE = 7


def make_batch(rng: np.random.Generator, n: int, name: str) -> dict[bytes, object]:
    """A batch as the official archive pickles it: (n, 3072) uint8 rows (R, G, B planes), int labels."""
    return {b"batch_label": name.encode(), b"labels": [int(y) for y in rng.integers(0, 10, n)],
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"filenames": [f"img_{i}.png".encode() for i in range(n)]}


def write_archive(path: Path, batches: dict[str, dict[bytes, object]]) -> Path:
    """A gzipped tar with cifar-10-batches-py/<batch> members pickled with protocol 2."""
    meta = {b"label_names": [c.encode() for c in CLASSES], b"num_cases_per_batch": PER_TRAIN_BATCH,
            b"num_vis": 3072}
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, content in {**batches, "batches.meta": meta}.items():
            payload = pickle.dumps(content, protocol=2)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return path


@pytest.fixture
def small_cifar(zoo_dir: Path) -> dict[str, dict[bytes, object]]:
    """A small CIFAR-10 archive dropped by hand at the zoo's archive location; returns its batches."""
    rng = np.random.default_rng(0)
    batches = {f"data_batch_{i}": make_batch(rng, PER_TRAIN_BATCH, f"batch {i}") for i in range(1, 6)}
    batches["test_batch"] = make_batch(rng, TEST_SIZE, "test")
    write_archive(zoo_dir / "cifar10" / zoo_datasets.CIFAR10_ARCHIVE, batches)
    return batches


def expected_image(batch: dict[bytes, object], i: int) -> np.ndarray:
    return np.asarray(batch[b"data"])[i].reshape(3, 32, 32).transpose(1, 2, 0)


def test_cifar10_test_split_from_a_hand_dropped_archive(backend, small_cifar, zoo_dir) -> None:
    dataset = load_zoo_dataset("cifar10", split="test", download=False, md5=None, progress=False)
    assert dataset.name == "cifar10-test" and dataset.persistent and len(dataset) == TEST_SIZE
    assert dataset.default_classes == CLASSES
    assert dataset.distinct("tags") == ["test"]
    batch = small_cifar["test_batch"]
    paths = dataset.values("filepath")
    folder = zoo_dir / "cifar10" / "test" / "data"
    assert paths == sorted(paths) and all(Path(p).parent == folder for p in paths)
    assert dataset.values("ground_truth.label") == [CLASSES[y] for y in batch[b"labels"]]
    for i, path in enumerate(paths):
        assert np.array_equal(np.asarray(Image.open(path)), expected_image(batch, i))


def test_cifar10_train_split_joins_the_five_batches(backend, small_cifar) -> None:
    dataset = load_zoo_dataset("cifar10", split="train", download=False, md5=None, progress=False)
    assert dataset.name == "cifar10-train" and len(dataset) == 5 * PER_TRAIN_BATCH
    labels = [y for i in range(1, 6) for y in small_cifar[f"data_batch_{i}"][b"labels"]]
    assert dataset.values("ground_truth.label") == [CLASSES[y] for y in labels]
    last = dataset.values("filepath")[-1]
    assert np.array_equal(np.asarray(Image.open(last)), expected_image(small_cifar["data_batch_5"], 2))


def test_later_loads_reuse_the_dataset_and_the_files(backend, small_cifar, zoo_dir) -> None:
    first = load_zoo_dataset("cifar10", md5=None, progress=False)
    first.tag_samples("seen")
    (zoo_dir / "cifar10" / zoo_datasets.CIFAR10_ARCHIVE).unlink()
    again = load_zoo_dataset("cifar10", download=False, progress=False)
    assert again.values("id") == first.values("id") and "seen" in again.distinct("tags")
    paths = first.values("filepath")
    ll.delete_dataset("cifar10-test")
    rebuilt = load_zoo_dataset("cifar10", download=False, progress=False)
    assert len(rebuilt) == TEST_SIZE and rebuilt.values("filepath") == paths
    assert rebuilt.distinct("tags") == ["test"]
    rebuilt_ids = rebuilt.values("id")
    fresh = load_zoo_dataset("cifar10", download=False, overwrite=True, progress=False)
    assert len(fresh) == TEST_SIZE and fresh.values("id") != rebuilt_ids


def test_a_half_built_dataset_is_rebuilt(backend, small_cifar) -> None:
    ll.Dataset("cifar10-test", persistent=True).add_sample(ll.Sample("/tmp/left-over.png"))
    dataset = load_zoo_dataset("cifar10", md5=None, progress=False)
    assert len(dataset) == TEST_SIZE and "/tmp/left-over.png" not in dataset.values("filepath")


def test_the_official_md5_is_checked_by_default(backend, small_cifar, zoo_dir) -> None:
    with pytest.raises(DownloadError, match="md5"):
        load_zoo_dataset("cifar10", progress=False)
    assert not (zoo_dir / "cifar10" / "test").exists()
    assert "cifar10-test" not in ll.list_datasets()


def test_download_with_checksum_from_a_mirror(backend, small_cifar, zoo_dir, tmp_path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    mirror = (zoo_dir / "cifar10" / zoo_datasets.CIFAR10_ARCHIVE).rename(tmp_path / "mirror.tar.gz")
    md5 = hashlib.md5(mirror.read_bytes()).hexdigest()
    monkeypatch.setattr(zoo_datasets, "CIFAR10_URL", mirror.as_uri())
    dataset = load_zoo_dataset("cifar10", md5=md5, progress=False)
    assert len(dataset) == TEST_SIZE
    assert (zoo_dir / "cifar10" / zoo_datasets.CIFAR10_ARCHIVE).read_bytes() == mirror.read_bytes()


def test_no_archive_and_no_network_say_where_to_put_the_archive(backend, zoo_dir,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    where = str(zoo_dir / "cifar10" / zoo_datasets.CIFAR10_ARCHIVE)
    with pytest.raises(DatasetNotFoundError, match="put it there") as info:
        load_zoo_dataset("cifar10", download=False, progress=False)
    assert where in str(info.value)
    monkeypatch.setattr(zoo_datasets, "CIFAR10_URL", "http://127.0.0.1:9/cifar-10-python.tar.gz")
    with pytest.raises(DownloadError, match="put it at") as info:
        load_zoo_dataset("cifar10", progress=False)
    assert where in str(info.value)
    assert not any(zoo_dir.rglob("*.part"))


def test_an_archive_that_runs_code_when_unpickled_is_refused(backend, zoo_dir, tmp_path) -> None:
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    rng = np.random.default_rng(1)
    write_archive(zoo_dir / "cifar10" / zoo_datasets.CIFAR10_ARCHIVE,
                  {"test_batch": {**make_batch(rng, 2, "test"), b"extra": Evil()}})
    with pytest.raises(ValidationError, match="not a readable CIFAR-10"):
        load_zoo_dataset("cifar10", md5=None, progress=False)
    assert not marker.exists()


def test_an_archive_missing_batches_is_refused(backend, zoo_dir) -> None:
    write_archive(zoo_dir / "cifar10" / zoo_datasets.CIFAR10_ARCHIVE,
                  {"test_batch": make_batch(np.random.default_rng(2), 2, "test")})
    with pytest.raises(ValidationError, match="data_batch_1"):
        load_zoo_dataset("cifar10", split="train", md5=None, progress=False)


def test_digits_are_the_bundled_scikit_learn_images(backend, zoo_dir) -> None:
    dataset = load_zoo_dataset("digits", progress=False)
    digits = load_digits()
    assert dataset.name == "digits" and len(dataset) == 1797
    assert dataset.default_classes == [str(i) for i in range(10)]
    assert dataset.values("ground_truth.label") == [str(y) for y in digits.target]
    pixels = np.asarray(Image.open(dataset.values("filepath")[5]))
    assert pixels.shape == (64, 64) and pixels.dtype == np.uint8
    ink = np.rint(255 * (1 - digits.images[5] / 16)).astype(np.uint8)
    assert np.array_equal(pixels[::8, ::8], ink)
    assert load_zoo_dataset("digits", progress=False).values("id") == dataset.values("id")


def test_unknown_names_and_splits(backend, zoo_dir) -> None:
    assert list_zoo_datasets() == ["cifar10", "digits"]
    with pytest.raises(ValidationError, match="cifar10"):
        load_zoo_dataset("mnist")
    with pytest.raises(ValidationError, match="splits"):
        load_zoo_dataset("cifar10", split="validation")
    with pytest.raises(ValidationError, match="no splits"):
        load_zoo_dataset("digits", split="test")


def test_a_foreign_folder_in_the_way_is_never_overwritten(backend, small_cifar, zoo_dir, tmp_path) -> None:
    mine = tmp_path / "mine"
    (mine / "test").mkdir(parents=True)
    (mine / "test" / "keep.txt").write_text("user data")
    (zoo_dir / "cifar10" / zoo_datasets.CIFAR10_ARCHIVE).rename(mine / zoo_datasets.CIFAR10_ARCHIVE)
    with pytest.raises(ValidationError, match="move it away"):
        load_zoo_dataset("cifar10", dataset_dir=mine, md5=None, progress=False)
    assert (mine / "test" / "keep.txt").read_text() == "user data"
    dataset = load_zoo_dataset("cifar10", split="train", dataset_dir=mine, md5=None, progress=False)
    assert len(dataset) == 5 * PER_TRAIN_BATCH
    assert all(p.startswith(str(mine / "train" / "data")) for p in dataset.values("filepath"))
