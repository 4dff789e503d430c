"""Uniqueness, near duplicates, outliers and image quality: pure maths and brain runs on both backends."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

import labellens as ll
from labellens.brain.duplicates import compute_near_duplicates, duplicate_groups, equal_value_pairs
from labellens.brain.image_quality import compute_image_quality, image_scores, odd_size_scores
from labellens.brain.outliers import compute_outliers, outlier_scores
from labellens.brain.uniqueness import compute_uniqueness, uniqueness_scores
from labellens.errors import FieldNotFoundError, SchemaError


def test_uniqueness_is_a_weighted_neighbour_distance_scaled_to_one() -> None:
    distances = np.array([[0.1, 0.2, 0.3], [0.0, 0.0, 0.1], [1.0, 1.0, 1.0]])
    scores = uniqueness_scores(distances)
    np.testing.assert_allclose(scores, np.array([0.06 + 0.06 + 0.03, 0.01, 1.0]) / 1.0)
    assert uniqueness_scores(np.zeros((3, 3))).tolist() == [0, 0, 0]


def test_duplicate_groups_are_connected_components_keeping_the_first() -> None:
    group, keep = duplicate_groups(6, np.array([[1, 3], [3, 4], [5, 2]]))
    assert group.tolist() == [-1, 0, 1, 0, 0, 1]
    assert keep.tolist() == [False, True, True, False, False, False]
    assert equal_value_pairs(["a", None, "b", "a", None, "a"]).tolist() == [[0, 3], [0, 5]]


def test_outlier_score_is_half_for_the_median_and_near_one_far_away() -> None:
    distance = np.r_[np.linspace(0.9, 1.1, 99), 5.0]
    score, flag = outlier_scores(distance)
    assert score[49] == pytest.approx(1 - np.exp(-1), abs=0.01) and score[-1] > 0.99
    assert flag.tolist() == [False] * 99 + [True]
    assert odd_size_scores(np.array([32.0, 32.0, 320.0, 3.0])).round(3).tolist() == [1.0, 1.0, 0.1, 0.094]


def test_image_scores_follow_cleanvision() -> None:
    rng = np.random.default_rng(0)
    texture = Image.fromarray(rng.integers(60, 200, size=(48, 64, 3), dtype=np.uint8))
    normal = image_scores(texture)
    assert normal["dark"] > 0.37 and normal["light"] > 0.05 and normal["blurry"] > 0.29
    assert normal["grayscale"] == 1.0 and normal["odd_aspect_ratio"] == pytest.approx(0.75)
    assert image_scores(Image.new("RGB", (32, 32), (5, 5, 5)))["dark"] < 0.37
    assert image_scores(Image.new("RGB", (32, 32), (255, 255, 255)))["light"] < 0.05
    assert image_scores(Image.new("RGB", (32, 32), (90, 120, 30)))["low_information"] < 0.3
    assert image_scores(texture.filter(ImageFilter.GaussianBlur(4)))["blurry"] < 0.29
    assert image_scores(texture.convert("L"))["grayscale"] == 0.0
    assert image_scores(texture.resize((200, 40)))["odd_aspect_ratio"] < 0.35


def embedded_dataset(tmp_path: Path, n: int = 60) -> tuple[ll.Dataset, np.ndarray]:
    """Clustered 8-d embeddings: rows 10/11 near copies of 0/1, row 20 far away; files 30 and 31 equal."""
    rng = np.random.default_rng(0)
    label = rng.integers(0, 3, size=n)
    emb = rng.normal(size=(3, 8))[label] * 3 + rng.normal(size=(n, 8))
    emb[10], emb[11] = emb[0] * 1.001, emb[1] + 1e-3
    label[10], label[11] = label[0], label[1]
    emb[20] = -emb[20] * 25
    paths = []
    for i in range(n):
        path = tmp_path / f"{i}.png"
        Image.fromarray(np.full((4, 4, 3), i, dtype=np.uint8)).save(path)
        paths.append(path)
    shutil.copy(paths[30], paths[31])
    ds = ll.Dataset()
    ds.add_samples(ll.Sample(filepath=str(paths[i]), emb=emb[i].astype(np.float32),
                             ground_truth=ll.Classification(label=f"c{label[i]}")) for i in range(n))
    return ds, emb


def test_uniqueness_near_duplicates_and_outliers_on_a_dataset(backend: str, tmp_path: Path) -> None:
    ds, _ = embedded_dataset(tmp_path)
    assert compute_uniqueness(ds, "emb") == len(ds)
    unique = np.array(ds.values("uniqueness"))
    assert unique.max() == 1.0 and unique.argmax() == 20 and unique[[0, 10, 1, 11]].max() < 0.1
    summary = compute_near_duplicates(ds, "emb", threshold=0.001)
    group, keep, exact = ds.values("near_dup_group"), ds.values("near_dup_keep"), ds.values("near_dup_exact")
    assert group[0] == group[10] is not None and group[1] == group[11] is not None and group[0] != group[1]
    assert keep[0] is True and keep[10] is False and exact[30] is exact[31] is True and exact[0] is None
    assert group[30] == group[31] is not None
    assert summary.num_groups == 3 and summary.num_to_drop == 3 and summary.num_exact == 2
    assert len(ds.match({"near_dup_keep": False})) == 3
    result = compute_outliers(ds, "emb", label_field="ground_truth")
    score = np.array(ds.values("outlier"))
    assert score.argmax() == 20 and ds.values("outlier_flag")[20] is True and result["flagged"] >= 1
    assert set(ds.list_brain_runs()) == {"near_dup", "outlier", "uniqueness"}
    ds.delete_brain_run("near_dup")
    assert "near_dup_group" not in ds.get_field_schema()


def test_exact_duplicates_without_embeddings_and_bad_input(backend: str, tmp_path: Path) -> None:
    ds, _ = embedded_dataset(tmp_path, 40)
    summary = compute_near_duplicates(ds, brain_key="dups")
    assert summary.num_groups == 1 and ds.values("dups_exact")[30] is True
    with pytest.raises(FieldNotFoundError, match="compute_embeddings"):
        compute_uniqueness(ds, "nope")
    ds.add_sample_field("taken", "StringField")
    with pytest.raises(SchemaError, match="already holds"):
        compute_outliers(ds, "emb", outlier_field="taken")
    assert "taken_flag" not in ds.get_field_schema() and "dups" in ds.list_brain_runs()


def test_image_quality_streams_resumes_and_counts_flags(backend: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    paths = []
    for i in range(12):
        image = Image.fromarray(rng.integers(40, 220, size=(32, 32, 3), dtype=np.uint8))
        if i == 3:
            image = image.point(lambda v: v // 8)
        if i == 4:
            image = image.resize((400, 400)).filter(ImageFilter.GaussianBlur(6))  # 12.5x the median size
        paths.append(tmp_path / f"{i}.png")
        image.save(paths[-1])
    (tmp_path / "broken.png").write_bytes(b"not an image")
    ds = ll.Dataset()
    ds.add_samples(ll.Sample(filepath=str(p)) for p in [*paths, tmp_path / "broken.png"])
    first = compute_image_quality(ds.limit(6), progress=False)
    assert first.scored == 6 and first.flagged["dark"] == 1 and first.flagged["blurry"] == 1
    with pytest.warns(UserWarning, match="1 samples have an unreadable image"):
        summary = compute_image_quality(ds, progress=False, workers=2)
    assert summary.scored == 6 and summary.unreadable == [str(tmp_path / "broken.png")]
    assert summary.skipped_ids == [ds.values("id")[-1]]
    assert ds.values("quality_dark_flag")[:5] == [False, False, False, True, False]
    assert ds.values("quality_blurry_flag")[4] is True and ds.values("quality_odd_size_flag")[4] is True
    assert ds.values("quality_dark")[-1] is None
    assert summary.flagged["odd_size"] == 1
    assert ds.get_brain_info("quality")["config"]["method"] == "image_quality"
