"""The App's panel endpoints: evaluation, embeddings map and issues, on the current view."""

from __future__ import annotations

import numpy as np
import pytest
from starlette.testclient import TestClient

import labellens as ll
from labellens import brain
from labellens.brain.find_issues import find_issues
from labellens.evaluation import evaluate_classifications


def with_embeddings(dataset: ll.Dataset) -> None:
    rng = np.random.default_rng(0)
    dataset.set_values("emb", [rng.normal(size=8).astype(np.float32) for _ in range(len(dataset))])


def test_evaluation_panel_follows_the_view(client: TestClient, dataset: ll.Dataset) -> None:
    body = client.post(f"/api/datasets/{dataset.name}/evaluation", json={}).json()
    assert body["available"] and body["gt_field"] == "ground_truth" and body["pred_field"] == "predictions"
    expected = evaluate_classifications(dataset, "predictions", eval_key=None)
    assert body["matrix"] == expected.matrix.tolist() and body["accuracy"] == pytest.approx(expected.accuracy)
    assert body["per_class"]["cat"]["recall"] == pytest.approx(expected.report()["cat"]["recall"])
    train = client.post(f"/api/datasets/{dataset.name}/evaluation",
                        json={"filters": {"tags": ["train"]}}).json()
    assert train["count"] == len(dataset.match_tags("train"))
    bad = client.post(f"/api/datasets/{dataset.name}/evaluation", json={"pred_field": "nope"})
    assert bad.status_code == 400 and "label field" in bad.json()["error"]


def test_embeddings_panel_points_colours_and_view(client: TestClient, dataset: ll.Dataset) -> None:
    assert client.post(f"/api/datasets/{dataset.name}/embeddings", json={}).json()["available"] is False
    with_embeddings(dataset)
    brain.compute_visualization(dataset, "emb", method="pca", brain_key="map")
    body = client.post(f"/api/datasets/{dataset.name}/embeddings",
                       json={"color_by": "mistakenness", "filters": {"tags": ["train"]}}).json()
    assert body["brain_keys"] == ["map"] and len(body["ids"]) == len(dataset) == len(body["x"])
    points = dict(zip(dataset.values("id"), dataset.values("map")))
    assert [body["x"][0], body["y"][0]] == pytest.approx(points[body["ids"][0]])
    assert sorted(body["colors"]) == sorted(dataset.values("mistakenness"))
    in_view = {i for i, flag in zip(body["ids"], body["in_view"]) if flag}
    assert in_view == set(dataset.match_tags("train").values("id"))
    assert client.post(f"/api/datasets/{dataset.name}/embeddings", json={"color_by": "x"}).status_code == 400


def test_issues_panel_counts_on_the_view(client: TestClient, dataset: ll.Dataset) -> None:
    assert client.post(f"/api/datasets/{dataset.name}/issues", json={}).json()["available"] is False
    report = find_issues(dataset, progress=False)
    body = client.post(f"/api/datasets/{dataset.name}/issues", json={}).json()
    rows = {r["issue"]: r for r in body["rows"]}
    assert set(rows) == {t.issue for t in report.tables}
    assert all(rows[t.issue]["count"] == t.count for t in report.tables)
    fractions = [r["fraction"] for r in body["rows"]]
    assert fractions == sorted(fractions, reverse=True)
    low = rows["low_information"]  # solid-colour images
    assert low["count"] == len(dataset)
    train = client.post(f"/api/datasets/{dataset.name}/issues", json={"filters": {"tags": ["train"]}}).json()
    counts = {r["issue"]: r["count"] for r in train["rows"]}
    assert counts["low_information"] == len(dataset.match_tags("train"))
    shown = client.post(f"/api/datasets/{dataset.name}/count",
                        json={"view": [{"_cls": "Match", "kwargs": {"filter": low["query"]}}]}).json()
    assert shown["count"] == len(dataset)


def test_an_unknown_brain_run_is_404_and_a_run_of_another_method_400(client: TestClient,
                                                                       dataset: ll.Dataset) -> None:
    with_embeddings(dataset)
    brain.compute_visualization(dataset, "emb", method="pca", brain_key="map")
    url = f"/api/datasets/{dataset.name}/embeddings"
    missing = client.post(url, json={"brain_key": "nope"})
    assert missing.status_code == 404
    assert missing.json()["error"] == "no brain run 'nope'; runs are: ['map']"
    dataset.register_run("brain", "scores", {"method": "mistakenness"}, [])
    other = client.post(url, json={"brain_key": "scores"})
    assert other.status_code == 400
    assert "'scores' is a 'mistakenness' run, not a visualization" in other.json()["error"]
    assert client.post(url, json={"brain_key": ["map"]}).status_code == 400


def test_an_unknown_issues_report_is_404(client: TestClient, dataset: ll.Dataset) -> None:
    find_issues(dataset, key="first", progress=False)
    url = f"/api/datasets/{dataset.name}/issues"
    missing = client.post(url, json={"key": "nope"})
    assert missing.status_code == 404
    assert missing.json()["error"] == "no issues run 'nope'; runs are: ['first']"
    assert client.post(url, json={"key": {"$ne": 1}}).status_code == 400
    assert client.post(url, json={"key": "first"}).json()["key"] == "first"
