"""The dataset zoo: ready-made datasets by name, unpacked to image files once.

``cifar10`` reads the official CIFAR-10 python archive (``cifar-10-python.tar.gz``),
downloading it when it is not in the zoo folder (``LABELLENS_ZOO_DIR``, default
``~/.labellens/zoo``; a hand-dropped copy there works offline). ``digits`` is
scikit-learn's bundled 8x8 handwritten digits, written as upscaled PNGs.

Each split is unpacked to ``<dataset_dir>/<split>/data/<index>.png`` (digits:
``<dataset_dir>/images/data/<index>.png``) plus a ``labels.json``, in a private
folder that is moved into place only when complete, and is
loaded into a persistent dataset (``cifar10-test``, ``cifar10-train``,
``digits``) that later calls reuse.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import tarfile
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

from labellens.dataset import Dataset, Sample, dataset_exists, load_dataset
from labellens.errors import DatasetNotFoundError, DownloadError, ValidationError
from labellens.labels import Classification
from labellens.progress import ProgressBar
from labellens.zoo.download import cache_dir, check_digest, download

ZOO_DIR_ENV = "LABELLENS_ZOO_DIR"
DEFAULT_ZOO_DIR = "~/.labellens/zoo"
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")
CIFAR10_BATCHES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
LABELS_FILE = "labels.json"
DIGITS_SCALE = 8
ZOO_INFO_KEY = "zoo"

Split = Literal["test", "train"]

# The only globals a CIFAR batch pickle may reference: numpy array reconstruction, and the
# bytes decoder that protocol-2 pickles written by Python 3 use.
_PICKLE_GLOBALS = {
    ("_codecs", "encode"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
}


def list_zoo_datasets() -> list[str]:
    """Names accepted by :func:`load_zoo_dataset`."""
    return ["cifar10", "digits"]


def load_zoo_dataset(name: str, split: str | None = None, *, dataset_dir: str | Path | None = None,
                     dataset_name: str | None = None, download: bool = True,
                     md5: str | None = CIFAR10_MD5, overwrite: bool = False,
                     progress: bool = True) -> Dataset:
    """Load a zoo dataset, unpacking its files and building its persistent dataset on first use.

    Parameters
    ----------
    name : {"cifar10", "digits"}
    split : {"test", "train"}, optional
        CIFAR-10 split (default "test"); samples are tagged with it.
    dataset_dir : path, optional
        Where the archive and images live; default ``<zoo dir>/<name>``.
    dataset_name : str, optional
        Default ``"cifar10-<split>"`` or ``"digits"``.
    download : bool
        Fetch a missing CIFAR-10 archive from the official address.
    md5 : str or None
        Expected md5 of the CIFAR-10 archive (the official one by default); None
        skips the check, e.g. for a locally built archive in the official format.
    overwrite : bool
        Rebuild the dataset even if one with this name exists.
    progress : bool
        Progress bars while downloading and unpacking.

    Returns
    -------
    Dataset
        Persistent, ``default_classes`` set, one ``ground_truth`` Classification per sample.
    """
    if name not in list_zoo_datasets():
        raise ValidationError(f"no zoo dataset {name!r}; choose one of {list_zoo_datasets()}")
    folder = Path(dataset_dir).expanduser() if dataset_dir else cache_dir(ZOO_DIR_ENV, DEFAULT_ZOO_DIR) / name
    if name == "digits":
        if split is not None:
            raise ValidationError("the digits dataset has no splits; call load_zoo_dataset('digits')")
        tags: list[str] = []
        target = folder / "images"
        unpack = partial(_write_digits, progress=progress)
    else:
        split = split or "test"
        if split not in CIFAR10_BATCHES:
            raise ValidationError(f"CIFAR-10 splits are {list(CIFAR10_BATCHES)}, got {split!r}")
        tags, target = [split], folder / split
        unpack = partial(_unpack_cifar10, folder=folder, split=split, allow_download=download,
                         md5=md5, progress=progress)
    dataset_name = dataset_name or (f"{name}-{split}" if split else name)
    existing = _complete_dataset(dataset_name) if not overwrite else None
    if existing is not None:
        return existing
    classes, labels = _ensure_unpacked(target, unpack)
    return _build_dataset(dataset_name, target, classes, labels, tags, {"name": name, "split": split})


def _complete_dataset(name: str) -> Dataset | None:
    """The named dataset if a previous load finished building it."""
    if not dataset_exists(name):
        return None
    dataset = load_dataset(name)
    return dataset if ZOO_INFO_KEY in dataset.info else None


def _ensure_unpacked(target: Path, unpack: Callable[[Path], None]) -> tuple[list[str], list[int]]:
    """Unpack into a private folder, then move it into place (so a crash never leaves half a split)."""
    if not (target / LABELS_FILE).exists():
        if target.exists():
            raise ValidationError(f"{target} exists but holds no {LABELS_FILE}, so it was not unpacked by "
                                  "labellens; move it away or pass another dataset_dir")
        tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            unpack(tmp)
            if not target.exists():
                tmp.replace(target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    stored = json.loads((target / LABELS_FILE).read_text())
    return stored["classes"], stored["labels"]


def _build_dataset(name: str, target: Path, classes: list[str], labels: list[int], tags: list[str],
                   zoo_info: dict[str, Any]) -> Dataset:
    width = len(str(len(labels) - 1))
    dataset = Dataset(name, persistent=True, overwrite=True)
    dataset.add_samples(
        Sample(target / "data" / f"{i:0{width}d}.png", tags=list(tags),
               ground_truth=Classification(label=classes[y]))
        for i, y in enumerate(labels))
    dataset.default_classes = classes
    dataset.info[ZOO_INFO_KEY] = zoo_info
    dataset.save()
    return dataset


def _write_split(tmp: Path, images: np.ndarray, labels: Sequence[int], classes: Sequence[str],
                 progress: bool) -> None:
    """Write (N, H, W[, C]) uint8 images as PNGs, then the labels file that marks completion."""
    data = tmp / "data"
    data.mkdir(parents=True)
    width = len(str(len(images) - 1))
    with ProgressBar(len(images), desc=f"unpacking {tmp.parent.name}/{tmp.name.split('.')[0]}", unit="img",
                     enabled=progress) as bar:
        for i, image in enumerate(bar(images)):
            Image.fromarray(image).save(data / f"{i:0{width}d}.png")
    payload = {"classes": list(classes), "labels": [int(y) for y in labels]}
    (tmp / LABELS_FILE).write_text(json.dumps(payload))


# -- CIFAR-10 ---------------------------------------------------------------------------


def _cifar10_archive(folder: Path, allow_download: bool, md5: str | None, progress: bool) -> Path:
    """The archive in ``folder``, downloaded first if missing; its md5 is checked unless None."""
    archive = folder / CIFAR10_ARCHIVE
    if not archive.exists():
        if not allow_download:
            raise DatasetNotFoundError(f"CIFAR-10 is not unpacked and {archive} does not exist; "
                                       f"download {CIFAR10_URL} and put it there")
        try:
            download(CIFAR10_URL, archive, expected=md5, algorithm="md5", progress=progress)
        except DownloadError as exc:
            raise DownloadError(f"{exc}. Without network access, download {CIFAR10_URL} "
                                f"elsewhere and put it at {archive}") from None
    elif md5 is not None:
        check_digest(archive, md5, "md5")
    return archive


def _unpack_cifar10(tmp: Path, *, folder: Path, split: Split, allow_download: bool, md5: str | None,
                    progress: bool) -> None:
    """Find (or download) the archive, decode one split's pickled batches, write them as PNGs."""
    archive = _cifar10_archive(folder, allow_download, md5, progress)
    wanted = {*CIFAR10_BATCHES[split], "batches.meta"}
    found: dict[str, dict[bytes, Any]] = {}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                base = member.name.rsplit("/", 1)[-1]
                if member.isfile() and base in wanted:
                    found[base] = _load_batch(tar.extractfile(member))  # type: ignore[arg-type]
    except (tarfile.TarError, OSError, EOFError, pickle.UnpicklingError) as exc:
        raise ValidationError(f"{archive} is not a readable CIFAR-10 python archive ({exc}); "
                              "delete it and load the dataset again") from None
    missing = sorted(wanted - set(found))
    if missing:
        raise ValidationError(f"{archive} lacks {', '.join(missing)}; it is not the CIFAR-10 "
                              "python archive (delete it and load the dataset again)")
    classes = [c.decode() for c in found["batches.meta"][b"label_names"]]
    batches = [found[b] for b in CIFAR10_BATCHES[split]]
    data = np.concatenate([np.asarray(b[b"data"], dtype=np.uint8) for b in batches])
    labels = [y for b in batches for y in b[b"labels"]]
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    _write_split(tmp, np.ascontiguousarray(images), labels, classes, progress)


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles CIFAR batches only: numpy arrays, lists, dicts, bytes; no other code runs."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _PICKLE_GLOBALS:
            raise pickle.UnpicklingError(f"unexpected object {module}.{name} in a CIFAR batch")
        return super().find_class(module, name)


def _load_batch(stream: BinaryIO) -> dict[bytes, Any]:
    batch = _BatchUnpickler(stream, encoding="bytes").load()
    if not isinstance(batch, dict):
        raise pickle.UnpicklingError("a CIFAR batch must be a dict")
    return batch


# -- digits -------------------------------------------------------------------------------


def _write_digits(tmp: Path, progress: bool) -> None:
    """scikit-learn's 1,797 8x8 digits (0-16 ink) as 64x64 dark-on-white PNGs."""
    digits = load_digits()
    ink = np.asarray(digits.images, dtype=np.float64) / 16.0
    pixels = np.rint(255.0 * (1.0 - ink)).astype(np.uint8)
    big = pixels.repeat(DIGITS_SCALE, axis=1).repeat(DIGITS_SCALE, axis=2)
    classes = [str(c) for c in digits.target_names]
    _write_split(tmp, np.ascontiguousarray(big), digits.target, classes, progress)
