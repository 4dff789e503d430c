"""TorchImageDataset: (image, id) pairs, unreadable images skipped and reported."""

from __future__ import annotations

import logging

import pytest
import torch
from torch.utils.data import DataLoader

from labellens.errors import ValidationError
from labellens.inference import ImageBatch, TorchImageDataset, collate_images


def test_items_are_transformed_images_with_their_ids(image_tree) -> None:
    paths = image_tree.good[:3]
    dataset = TorchImageDataset(paths, sample_ids=["a", "b", "c"])
    image, sample_id = dataset[1]
    assert sample_id == "b" and image.shape == (3, 32, 32) and image.dtype == torch.float32
    assert float(image.min()) >= 0.0 and float(image.max()) <= 1.0
    doubled = TorchImageDataset(paths, transform=lambda img: torch.zeros(1) + img.size[0])
    assert doubled[0][0].item() == 32 and doubled[0][1] == str(paths[0])


def test_plain_dataloader_skips_unreadable_images_as_in_the_tutorial(image_tree, caplog) -> None:
    paths = [image_tree.good[0], *image_tree.bad, *image_tree.good[1:4]]
    ids = [f"id{i}" for i in range(len(paths))]
    dataset = TorchImageDataset(paths, sample_ids=ids)
    with caplog.at_level(logging.WARNING):
        batches = list(DataLoader(dataset, batch_size=3, num_workers=0))
    seen = [i for _, batch_ids in batches for i in batch_ids]
    assert seen == ["id0", "id4", "id5", "id6"]
    assert sorted(f.sample_id for f in dataset.failures) == ["id1", "id2", "id3"]
    assert {f.path for f in dataset.failures} == {str(p) for p in image_tree.bad}
    assert "skipping unreadable image" in caplog.text


@pytest.mark.parametrize("num_workers", [0, 1])
def test_collate_images_brings_failures_back_from_workers(image_tree, num_workers: int) -> None:
    paths = [*image_tree.bad, image_tree.good[0], image_tree.good[1]]
    dataset = TorchImageDataset(paths, sample_ids=list(range(len(paths))))
    loader = DataLoader(dataset, batch_size=3, num_workers=num_workers, collate_fn=collate_images)
    batches: list[ImageBatch] = list(loader)
    assert batches[0].images is None and batches[0].ids == []
    assert [f.sample_id for f in batches[0].failures] == [0, 1, 2]
    assert "empty.jpg" in batches[0].failures[0].path and batches[0].failures[0].reason
    assert batches[1].ids == [3, 4] and batches[1].images.shape == (2, 3, 32, 32)
    assert batches[1].failures == []


def test_direct_access_to_an_unreadable_image_names_it(image_tree) -> None:
    dataset = TorchImageDataset([image_tree.bad[2]])
    with pytest.raises(ValidationError, match="notes.png"):
        dataset[0]


def test_mismatched_ids_and_images_of_different_sizes_are_clear_errors(image_tree) -> None:
    with pytest.raises(ValidationError, match="one id per image"):
        TorchImageDataset(image_tree.good[:2], sample_ids=["only-one"])
    sizes = iter([8, 9])
    dataset = TorchImageDataset(image_tree.good[:2], transform=lambda img: torch.zeros(3, next(sizes), 8))
    with pytest.raises(ValidationError, match="Resize"):
        list(DataLoader(dataset, batch_size=2, collate_fn=collate_images))
