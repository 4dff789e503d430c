"""End to end in headless Chromium: the evaluation, embeddings-map and issues panels filter the grid."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest
from browser_support import BROWSER_MARKS, wait_until

from labellens import brain
from labellens.brain.find_issues import find_issues
from labellens.evaluation import evaluate_classifications
from labellens.session import launch_app

pytestmark = BROWSER_MARKS
MAP_SIZE, PAD = 400, 8  # panels.js draws the map on a 400 px canvas with an 8 px margin


def shown_count(page) -> int:
    return int(page.get_attribute("[data-testid=sample-count]", "data-count") or -1)


def screenshot(page, tmp_path: Path, name: str) -> None:
    folder = Path(os.environ.get("LABELLENS_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / name))


@pytest.mark.parametrize("backend", ["mongod"], indirect=True)
def test_panels_filter_the_grid(backend, dataset, page, tmp_path, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    rng = np.random.default_rng(0)
    dataset.set_values("emb", [rng.normal(size=8).astype(np.float32) for _ in range(len(dataset))])
    brain.compute_visualization(dataset, "emb", method="pca", brain_key="map")
    report = find_issues(dataset, pred_field="predictions", progress=False)
    results = evaluate_classifications(dataset, "predictions", eval_key="eval")
    with launch_app(dataset, port=0, auto=False, cache_dir=tmp_path / "thumbs") as session:
        page.goto(session.url)
        wait_until(page, lambda: shown_count(page) == len(dataset), "the grid")
        page.click("[data-testid=panels-toggle]")

        # evaluation: accuracy as in Python; a confusion-matrix cell filters the grid
        page.wait_for_selector("[data-testid=eval-cell]")
        accuracy = float(page.get_attribute("[data-testid=eval-accuracy]", "data-value"))
        assert accuracy == pytest.approx(results.accuracy)
        true, pred = "cat", "dog"
        expected = len(results.view_cell(true, pred))
        assert expected > 0
        cell = page.locator(f"[data-testid=eval-cell][data-true={true}][data-pred={pred}]")
        assert cell.get_attribute("data-count") == str(expected)
        with page.expect_response(re.compile(r".*/count$")):
            cell.click()
        wait_until(page, lambda: shown_count(page) == expected, "the grid to show the cell")
        screenshot(page, tmp_path, "panel-evaluation.png")
        page.click("[data-testid=panel-clear]")
        wait_until(page, lambda: shown_count(page) == len(dataset), "the grid to show everything again")

        # embeddings map: lasso the left half; the grid and session.selected get those samples
        page.click("[data-testid=tab-map]")
        canvas = page.wait_for_selector("[data-testid=map-canvas]")
        box = canvas.bounding_box()
        points = np.array(dataset.values("map"))
        low, span = points.min(axis=0), (points.max(axis=0) - points.min(axis=0)).max()
        px = PAD + (points[:, 0] - low[0]) * (MAP_SIZE - 2 * PAD) / span
        left = {i for i, x in zip(dataset.values("id"), px) if x < MAP_SIZE / 2}
        assert 0 < len(left) < len(dataset)
        corners = [(2, 2), (MAP_SIZE / 2, 2), (MAP_SIZE / 2, MAP_SIZE - 2), (2, MAP_SIZE - 2), (2, 3)]
        # hovering a point shows its thumbnail
        py = MAP_SIZE - PAD - (points[:, 1] - low[1]) * (MAP_SIZE - 2 * PAD) / span
        target = int(np.argmin(px))
        page.mouse.move(box["x"] + px[target], box["y"] + py[target])
        tip, hovered = page.locator(".map-tip"), dataset.values("id")[target]
        wait_until(page, lambda: tip.is_visible() and tip.get_attribute("data-id") == hovered,
                   "the hovered point's thumbnail")
        page.mouse.move(box["x"] + corners[0][0], box["y"] + corners[0][1])
        page.mouse.down()
        for x, y in corners[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=5)
        page.mouse.up()
        wait_until(page, lambda: set(session.selected) == left, "the lasso to reach session.selected")
        wait_until(page, lambda: shown_count(page) == len(left), "the grid to show the lasso")
        screenshot(page, tmp_path, "panel-map.png")
        page.click("[data-testid=panel-clear]")
        wait_until(page, lambda: shown_count(page) == len(dataset), "the grid to show everything again")

        # issues: one row per issue type; opening one shows its samples
        page.click("[data-testid=tab-issues]")
        page.wait_for_selector("[data-testid=issue-row]")
        worst = max(report.tables, key=lambda t: t.count)
        row = page.locator(f"[data-testid=issue-row][data-issue={worst.issue}]")
        assert row.get_attribute("data-count") == str(worst.count)
        row.click()
        wait_until(page, lambda: shown_count(page) == worst.count, "the grid to show the issue")
        screenshot(page, tmp_path, "panel-issues.png")
