"""Samples whose labels are chosen by the test (hostile names, odd classes), one tiny PNG each."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

import labellens as ll


def make_samples(folder: Path, labels: list[str]) -> list[ll.Sample]:
    """One tiny PNG per label, each label as the sample's ground truth and tag."""
    folder.mkdir(parents=True, exist_ok=True)
    samples = []
    for i, label in enumerate(labels):
        path = folder / f"{i}.png"
        Image.new("RGB", (8, 8), (i * 40 % 256, 90, 160)).save(path)
        samples.append(ll.Sample(str(path), tags=[label], ground_truth=ll.Classification(label=label)))
    return samples
