"""The App's JSON API on both backends: datasets, summaries, pages of samples, one sample, tags."""

from __future__ import annotations

import numpy as np
import pytest

import labellens as ll
from labellens import F
from labellens.probability import softmax
from labellens.server import AppState
from labellens.server.query import with_probabilities

CLASSES = ["cat", "dog", "ship"]
N_SAMPLES = 12  # the size of the conftest's dataset


def page(client, body):
    response = client.post("/api/datasets/app-test/samples", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_lists_datasets(client, dataset):
    assert client.get("/api/datasets").json() == {"datasets": [dataset.name]}


def test_summary_describes_the_dataset(client, dataset):
    summary = client.get("/api/datasets/app-test").json()
    assert summary["name"] == "app-test"
    assert summary["count"] == summary["total"] == N_SAMPLES
    assert summary["tags"] == {"test": N_SAMPLES // 2, "train": N_SAMPLES // 2}
    assert summary["label_fields"] == ["ground_truth", "predictions"]
    assert summary["numeric_fields"] == ["mistakenness"]
    assert "mistakenness" in summary["sort_fields"]
    assert summary["classes"] == CLASSES
    assert summary["label_counts"]["ground_truth"] == {c: N_SAMPLES // 3 for c in CLASSES}
    assert summary["bounds"]["mistakenness"] == [0.0, (N_SAMPLES - 1) / N_SAMPLES]
    assert summary["schema"]["mistakenness"] == "FloatField"


def test_summary_of_a_view(client, dataset):
    view = dataset.match_tags("train")
    summary = client.post("/api/datasets/app-test/summary", json={"view": view.to_json()}).json()
    assert summary["count"] == N_SAMPLES // 2
    assert summary["total"] == N_SAMPLES
    assert summary["tags"] == {"train": N_SAMPLES // 2}


def test_pages_cover_the_view_once_without_logits(client, dataset):
    seen, offset = [], 0
    while offset is not None:
        result = page(client, {"offset": offset, "limit": 5})
        seen += result["samples"]
        offset = result["next_offset"]
    assert [s["id"] for s in seen] == dataset.values("id")
    first = seen[0]
    assert set(first) == {"id", "filepath", "tags", "ground_truth", "predictions", "mistakenness"}
    assert "logits" not in first["predictions"]
    assert first["predictions"] == {"label": "dog", "confidence": 0.9}


def test_page_of_a_session_view_with_sidebar_filters(client, dataset):
    view = dataset.match(F("mistakenness") >= 0.25)
    filters = {"tags": ["train"], "ranges": {"mistakenness": [0.0, 0.8]},
               "labels": {"ground_truth": ["cat", "dog"]}, "sort": {"field": "mistakenness", "reverse": True}}
    result = page(client, {"view": view.to_json(), "filters": filters, "limit": 50})
    expected = (view.match_tags("train").match(F("mistakenness") <= 0.8)
                .match(F("ground_truth.label").is_in(["cat", "dog"])).sort_by("mistakenness", reverse=True))
    assert [s["id"] for s in result["samples"]] == expected.values("id")
    scores = [s["mistakenness"] for s in result["samples"]]
    assert scores == sorted(scores, reverse=True) and scores
    assert result["next_offset"] is None


def test_count_of_a_filtered_view(client, dataset):
    response = client.post("/api/datasets/app-test/count",
                           json={"filters": {"ranges": {"mistakenness": [0.5, 1.0]}}})
    assert response.json() == {"count": len(dataset.match(F("mistakenness") >= 0.5))}


def test_histogram_of_a_numeric_field_over_the_view(client, dataset):
    response = client.post("/api/datasets/app-test/histogram", json={"field": "mistakenness", "bins": 4})
    assert response.status_code == 200, response.text
    counts, edges, other = dataset.histogram_values("mistakenness", bins=4)
    assert response.json() == {"field": "mistakenness", "counts": counts, "edges": edges, "other": other}
    view = dataset.match_tags("train")
    body = {"view": view.to_json(), "field": "mistakenness", "bins": 2, "range": [0.0, 0.5]}
    ranged = client.post("/api/datasets/app-test/histogram", json=body)
    expected = view.histogram_values("mistakenness", bins=2, range=(0.0, 0.5))
    assert [ranged.json()[k] for k in ("counts", "edges", "other")] == list(expected)


def test_histogram_requests_are_checked(client, dataset):
    for body in ({"field": "filepath"}, {"field": "nope"}, {"field": "mistakenness", "bins": 0},
                 {"field": "mistakenness", "bins": True}, {"field": "mistakenness", "range": [0, "x"]}):
        response = client.post("/api/datasets/app-test/histogram", json=body)
        assert response.status_code == 400, body
        assert response.json()["error"]


def test_one_sample_in_full_with_logits(client, dataset):
    sample = dataset.first()
    doc = client.get(f"/api/datasets/app-test/samples/{sample.id}").json()
    assert doc["id"] == sample.id
    assert doc["filepath"] == sample.filepath
    assert doc["predictions"]["_cls"] == "Classification"
    assert doc["predictions"]["logits"] == sample.predictions.logits.tolist()
    assert doc["ground_truth"]["label"] == sample.ground_truth.label
    assert not any(key.startswith("_") for key in doc)
    # the modal's bars: the one softmax's probabilities, computed by the server
    expected = softmax(sample.predictions.logits.astype(np.float64))
    assert doc["predictions"]["_probabilities"] == pytest.approx(expected.tolist(), abs=1e-6)
    assert "_probabilities" not in doc["ground_truth"]  # no logits, nothing to chart


def test_probabilities_only_for_numeric_logits():
    doc = {"id": "x", "a": {"_cls": "Classification", "logits": [0.0, 0.0]},
           "b": {"_cls": "Classification", "logits": [1.0, None]}, "c": {"logits": "<array of shape [9000]>"},
           "d": {"_cls": "Classification", "logits": []}, "tags": ["t"]}
    out = with_probabilities(doc)
    assert out["a"]["_probabilities"] == [0.5, 0.5]
    assert [k for k in ("b", "c", "d") if "_probabilities" in out[k]] == []
    assert "_probabilities" not in doc["a"]  # the input is left as it was


def test_unknown_sample_and_dataset_are_404(client, dataset):
    for url in ("/api/datasets/app-test/samples/" + "0" * 24, "/api/datasets/app-test/samples/nope",
                "/api/datasets/missing", "/api/datasets/missing/samples/" + "0" * 24):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.json()["error"]


def test_tag_selected_samples_is_written_at_once(client, dataset):
    ids = dataset.values("id")[:3]
    response = client.post("/api/datasets/app-test/tag", json={"tag": "needs-review", "ids": ids})
    assert response.json() == {"tag": "needs-review", "removed": False, "samples": 3, "changed": 3}
    assert dataset.match_tags("needs-review").values("id") == ids
    again = client.post("/api/datasets/app-test/tag", json={"tag": "needs-review", "ids": ids}).json()
    assert again["changed"] == 0
    untag = client.post("/api/datasets/app-test/tag",
                        json={"tag": "needs-review", "ids": ids[:1], "remove": True}).json()
    assert untag["changed"] == 1
    assert dataset.match_tags("needs-review").values("id") == ids[1:]
    assert client.get("/api/datasets/app-test").json()["tags"]["needs-review"] == 2


def test_tag_the_whole_filtered_view(client, dataset):
    body = {"tag": "high", "filters": {"ranges": {"mistakenness": [0.5, 1.0]}}}
    result = client.post("/api/datasets/app-test/tag", json=body).json()
    expected = dataset.match(F("mistakenness") >= 0.5).values("id")
    assert result["samples"] == result["changed"] == len(expected)
    assert sorted(dataset.match_tags("high").values("id")) == sorted(expected)


def test_session_state_and_selection(client, state, dataset):
    view = dataset.match_tags("test")
    state.show(dataset.name, view.to_json())
    session = client.get("/api/session").json()
    assert session["dataset"] == "app-test"
    assert session["view"] == view.to_json()
    ids = dataset.values("id")[:2]
    assert client.post("/api/session/selected", json={"ids": ids}).json() == {"selected": 2}
    assert state.selected == ids
    client.post("/api/session/ui", json={"filters": {"tags": ["test"]}})
    assert state.filters == {"tags": ["test"]}


def test_no_dataset_chosen(dataset, tmp_path):
    from starlette.testclient import TestClient

    from labellens.server import create_app

    with TestClient(create_app(AppState(), cache_dir=tmp_path), base_url="http://127.0.0.1") as c:
        assert c.get("/api/session").json()["dataset"] is None
        assert "app-test" in c.get("/api/datasets").json()["datasets"]


def test_index_and_assets_are_served_locally(client):
    index = client.get("/")
    assert index.status_code == 200
    assert "static/js/main.js" in index.text
    assert "http://" not in index.text and "https://" not in index.text
    for asset in ("static/app.css", "static/js/main.js", "static/js/grid.js", "static/js/modal.js",
                  "static/js/sidebar.js", "static/js/api.js", "static/js/colors.js", "static/js/dom.js",
                  "static/js/panels.js", "static/js/review.js", "static/js/review-session.js"):
        response = client.get("/" + asset)
        assert response.status_code == 200, asset
        assert "https://" not in response.text


def test_sample_added_later_shows_up(client, dataset, tmp_path):
    dataset.add_sample(ll.Sample(filepath=str(tmp_path / "images" / "000.png"), mistakenness=0.99))
    assert client.get("/api/datasets/app-test").json()["count"] == N_SAMPLES + 1


def test_tag_counts_of_a_view(client, dataset):
    view = dataset.match_tags("train")
    response = client.post("/api/datasets/app-test/tags", json={"view": view.to_json()})
    assert response.json() == {"tags": {"train": N_SAMPLES // 2}}


def test_unindexed_sort_is_flagged_and_the_index_offered(client, dataset, monkeypatch):
    from labellens.server import routes

    summary = client.get("/api/datasets/app-test").json()
    assert summary["index_hint"] is False  # 12 samples: an unindexed sort is cheap
    assert "mistakenness" not in summary["indexed_fields"] and "id" in summary["indexed_fields"]
    monkeypatch.setattr(routes, "INDEX_HINT_SAMPLES", N_SAMPLES)
    assert client.get("/api/datasets/app-test").json()["index_hint"] is True
    response = client.post("/api/datasets/app-test/indexes", json={"field": "mistakenness"})
    assert response.status_code == 200, response.text
    assert "mistakenness" in response.json()["indexed_fields"]
    assert "mistakenness" in dataset.indexed_fields()
    assert "mistakenness" in client.get("/api/datasets/app-test").json()["indexed_fields"]
    before = dataset.list_indexes()
    for bad in ({"field": "nope"}, {"field": "ground_truth"}, {}, {"field": 3}):
        response = client.post("/api/datasets/app-test/indexes", json=bad)
        assert response.status_code == 400, (bad, response.text)
        assert "indexable fields" in response.json()["error"]
    assert dataset.list_indexes() == before
    # tags too: the sidebar's offer, after which tag counts come from the index
    response = client.post("/api/datasets/app-test/indexes", json={"field": "tags"})
    assert response.status_code == 200 and "tags" in response.json()["indexed_fields"]
    tags = client.post("/api/datasets/app-test/tags", json={}).json()["tags"]
    assert tags == {"test": N_SAMPLES // 2, "train": N_SAMPLES // 2}
