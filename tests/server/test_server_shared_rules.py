"""Rules the App and the frozen snapshot share: class colours, score text, disagreement, the score
priority, 404 answers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from labellens.brain.default_score import SCORE_PRIORITY, default_score_field
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
from labellens.server.review_queue import open_queue
from labellens.server.state import AppState

RULES = json.loads((Path(__file__).parents[1] / "fixtures" / "js_python_rules.json").read_text("utf-8"))
"""The table that pins these Python copies to the App's JS (the browser test checks the JS side)."""


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
    assert open_queue(dataset, {}).score_field == summary["default_score_field"]  # review mode too


def test_without_a_priority_score_app_snapshot_and_review_sort_by_the_first_numeric_field(client, dataset):
    dataset.rename_sample_field("mistakenness", "uniqueness")
    summary = client.get(f"/api/datasets/{dataset.name}").json()
    assert summary["default_score_field"] == "uniqueness"
    assert snapshot.collect(dataset, [], {}, limit=2).score_field == "uniqueness"
    queue = open_queue(dataset, {})
    assert queue.score_field == "uniqueness"
    assert queue.view.values("id") == dataset.sort_by("uniqueness", reverse=True).values("id")


@pytest.mark.parametrize("case", RULES["disagrees"])
def test_snapshot_tiles_disagree_as_the_app_grid_marks_them(case):
    # grid.js: without a ground truth nothing disagrees, whatever the other fields hold
    labels = [tuple(pair) for pair in case["labels"]]
    tile = snapshot.Tile("a.png", labels, None, [])
    assert tile.disagrees is case["disagrees"]
    assert tile.shown_labels == [(field, label) for field, label in labels if label is not None]


@pytest.mark.parametrize("case", RULES["format_number"])
def test_snapshot_scores_are_written_as_the_app_writes_them(case):
    # what dom.js's formatNumber writes (Number.prototype.toFixed rounds the exact value, ties up)
    assert snapshot.format_number(case["value"]) == case["text"]


@pytest.mark.parametrize("case", RULES["class_hue"])
def test_class_hues_are_the_app_colours(case):
    assert {name: class_hue(name, case["classes"]) for name in case["hues"]} == case["hues"]


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
