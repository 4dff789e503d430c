"""Rules the App and the frozen snapshot share: class colours, the score priority, 404 answers."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from labellens.brain.score_fields import SCORE_PRIORITY, default_score_field
from labellens.errors import (
    BrainRunNotFoundError,
    FieldNotFoundError,
    HistoryEntryNotFoundError,
    IndexNotFoundError,
    MediaNotFoundError,
    RunNotFoundError,
    SampleNotFoundError,
    SavedViewNotFoundError,
)
from labellens.server import snapshot
from labellens.server.app import create_app
from labellens.server.colors import class_hue, class_order, class_rgb
from labellens.server.state import AppState


def test_snapshot_colours_match_the_app_without_default_classes(client, dataset):
    dataset.default_classes = []
    summary = client.get(f"/api/datasets/{dataset.name}").json()
    assert summary["default_classes"] == []
    shot = snapshot.collect(dataset, [], {}, limit=6)
    assert shot.classes == summary["classes"] == ["cat", "dog", "ship"]
    page = snapshot.render_html(shot)
    # The page draws with the App's own colours.js and grid.js, over the same class list.
    assert snapshot.bundle_modules(snapshot.GRID_MODULES) in page
    assert '"classes": ["cat", "dog", "ship"]' in page
    for label in ("cat", "dog", "ship"):  # the RGB the PNG sheet uses is the browser's hsl()
        assert class_rgb(label, summary["classes"]) == _hsl_rgb(class_hue(label, summary["classes"]))
    # the hues the browser's colors.js gives class index i
    assert [class_hue(c, summary["classes"]) for c in summary["classes"]] == [20, 158, 295]


def test_class_order_and_hash_fallback():
    assert class_order(["b", "a"], ["z", "a", None, "c"]) == ["b", "a", "c", "z"]
    # colors.js: index = (index * 31 + codePoint) >>> 0 over the name
    assert class_hue("zebra", []) == round((115776262 * 137.508 + 20) % 360)


def test_one_score_priority_for_app_and_snapshot(client, dataset):
    summary = client.get(f"/api/datasets/{dataset.name}").json()
    assert summary["default_score_field"] == default_score_field(summary["numeric_fields"]) == "mistakenness"
    assert SCORE_PRIORITY[:2] == ("label_issue", "mistakenness")
    assert default_score_field(["hardness", "mistakenness", "label_issue"]) == "label_issue"
    assert snapshot.collect(dataset, [], {}, limit=2).score_field == default_score_field(
        summary["numeric_fields"])


@pytest.mark.parametrize("labels, disagrees", [
    ([("ground_truth", "cat"), ("predictions", "dog")], True),
    ([("ground_truth", "cat"), ("predictions", "cat")], False),
    ([("ground_truth", "cat"), ("predictions", None), ("other", "dog")], True),
    ([("ground_truth", "cat"), ("predictions", None)], False),
    # grid.js: without a ground truth nothing disagrees, whatever the other fields hold
    ([("ground_truth", None), ("predictions", "cat"), ("other", "dog")], False),
    ([("predictions", "cat")], False),
    ([], False),
])
def test_snapshot_tiles_disagree_as_the_app_grid_marks_them(labels, disagrees):
    tile = snapshot.Tile("a.png", labels, None, [])
    assert tile.disagrees is disagrees
    assert tile.shown_labels == [(field, label) for field, label in labels if label is not None]


@pytest.mark.parametrize("value, text", [
    # what grid.js's formatNumber writes (Number.prototype.toFixed rounds the exact value, ties up)
    (2.0, "2"), (-3.0, "-3"), (0.125, "0.125"), (0.0625, "0.063"), (-0.0625, "-0.063"), (1.005, "1.005"),
    (-0.0001, "-0.000"), (1 / 3, "0.333"), (99.9996, "100.000"), (123.45, "123.5"), (250.25, "250.3"),
    (100.05, "100.0"), (1e21, "1e+21"),
])
def test_snapshot_scores_are_written_as_the_app_writes_them(value, text):
    assert snapshot.format_number(value) == text


@pytest.mark.parametrize("error, status", [
    (SavedViewNotFoundError("no saved view 'x'; saved views: []"), 404),
    (BrainRunNotFoundError("no brain run 'x'"), 404),
    (IndexNotFoundError("no index 'x'"), 404),
    (SampleNotFoundError("no sample 'x'"), 404),
    (RunNotFoundError("no issues run 'x'"), 404),
    (HistoryEntryNotFoundError("no history entry 'x'"), 404),
    (MediaNotFoundError("media file 'x' does not exist"), 404),
    (FieldNotFoundError("no field 'x'"), 400),
])
def test_not_found_conditions_answer_404_with_the_message(error, status, tmp_path):
    app = create_app(AppState(), cache_dir=tmp_path)

    async def failing(request):
        raise error

    app.add_route("/api/failing", failing)
    with TestClient(app, base_url="http://127.0.0.1") as test_client:
        response = test_client.get("/api/failing")
    assert response.status_code == status
    assert response.json() == {"error": str(error), "status": status}
    assert re.search("'x'", response.json()["error"])


def _hsl_rgb(hue: int) -> tuple[int, int, int]:
    """What a browser renders for hsl(hue, 72%, 60%) (CSS Color 4's conversion)."""
    def channel(n: int) -> int:
        k = (n + hue / 30) % 12
        a = 0.72 * min(0.6, 1 - 0.6)
        return round((0.6 - a * max(-1, min(k - 3, 9 - k, 1))) * 255)
    return channel(0), channel(8), channel(4)
