"""Media: originals for small images, Pillow thumbnails cached on disk for large ones."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

import labellens as ll
from labellens.errors import MediaNotFoundError, ValidationError
from labellens.server import media


@pytest.fixture
def large(dataset, tmp_path):
    path = tmp_path / "images" / "large.jpg"
    Image.new("RGB", (1600, 900), (10, 200, 30)).save(path, quality=95)
    sample = ll.Sample(filepath=str(path))
    dataset.add_sample(sample)
    return sample


def test_small_images_are_served_as_they_are(client, dataset):
    sample = dataset.first()
    original = Path(sample.filepath).read_bytes()
    assert client.get(f"/media/app-test/{sample.id}").content == original
    assert client.get(f"/media/app-test/{sample.id}?thumb=1").content == original


def test_large_images_get_a_cached_thumbnail(client, large, tmp_path):
    full = client.get(f"/media/app-test/{large.id}")
    assert full.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(full.content)).size == (1600, 900)
    thumb = client.get(f"/media/app-test/{large.id}?thumb=1")
    assert thumb.status_code == 200
    assert max(Image.open(io.BytesIO(thumb.content)).size) == media.THUMBNAIL_SIZE
    cached = list((tmp_path / "thumbs").rglob("*.png"))
    assert len(cached) == 1
    stamp = cached[0].stat().st_mtime_ns
    assert client.get(f"/media/app-test/{large.id}?thumb=1").content == thumb.content
    assert cached[0].stat().st_mtime_ns == stamp


def test_a_changed_image_gets_a_new_thumbnail(large, tmp_path):
    path = media.resolve_media(large.filepath)
    first = media.thumbnail(path, tmp_path / "cache")
    Image.new("RGB", (900, 1600), (200, 10, 30)).save(path, quality=95)
    os.utime(path, ns=(1, 1))
    second = media.thumbnail(path, tmp_path / "cache")
    assert first != second
    assert Image.open(second).size == (144, 256)


def test_unreadable_large_image_is_not_found(tmp_path):
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG" + os.urandom(1000))
    with pytest.raises(MediaNotFoundError):
        media.thumbnail(path, tmp_path / "cache")


@pytest.mark.parametrize("bad", ["", "relative.png", "/a/../b.png", "/a/b\x00.png", None])
def test_requested_paths_are_checked(bad):
    with pytest.raises(ValidationError):
        media.check_requested_path(bad)


def test_only_existing_image_files_resolve(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "folder.png").mkdir()
    for path in ("notes.txt", "missing.png", "folder.png"):
        with pytest.raises(MediaNotFoundError):
            media.resolve_media(str(tmp_path / path))
