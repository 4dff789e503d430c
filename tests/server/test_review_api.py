"""Review mode's API: queue order, leases (two concurrent clients), decisions, undo, bulk accept, history."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from starlette.testclient import TestClient

import labellens as ll
from labellens.server import AppState, create_app
from labellens.server.review_leases import Leases

CLASSES = ["cat", "dog", "ship"]


@pytest.fixture
def dataset(dataset: ll.Dataset) -> ll.Dataset:
    """The App's test dataset plus a label_issue score (sample i: 1 - i/12) and a suggestion."""
    n = len(dataset)
    dataset.set_values("label_issue", [1 - i / n for i in range(n)])
    dataset.set_values("label_issue_suggestion", dataset.values("predictions.label"))
    return dataset


def path(dataset: ll.Dataset, rest: str) -> str:
    return f"/api/datasets/{dataset.name}/review/{rest}"


def post(client: TestClient, dataset: ll.Dataset, rest: str, body: dict[str, Any]) -> Any:
    response = client.post(path(dataset, rest), json=body)
    assert response.status_code == 200, response.text
    return response.json()


_DECISION_IDS = itertools.count()


def decision(card: dict[str, Any], decision: str, label: str | None = None, **extra: Any) -> dict[str, Any]:
    """A decide body for a card: its label as ``seen_label``, a new ``decision_id``."""
    return {"client": "a", "sample_id": card["id"], "decision": decision, "label": label,
            "seen_label": card["label"], "decision_id": f"d-{next(_DECISION_IDS)}", **extra}


def labels_and_tags(dataset: ll.Dataset, sample_id: str) -> tuple[str | None, list[str]]:
    sample = dataset[sample_id]
    return sample.ground_truth.label if sample.ground_truth else None, sorted(sample.tags)


def test_queue_is_sorted_by_score_and_leaves_reviewed_samples_out(client: TestClient,
                                                                   dataset: ll.Dataset) -> None:
    ranked = dataset.sort_by("label_issue", reverse=True).values("id")
    queue = post(client, dataset, "queue", {})
    assert (queue["label_field"], queue["score_field"], queue["suggestion_field"], queue["pred_field"]) == \
        ("ground_truth", "label_issue", "label_issue_suggestion", "predictions")
    assert queue["classes"] == CLASSES and queue["progress"]["in_queue"] == len(dataset)
    first = post(client, dataset, "next", {"client": "a", "count": 3})["samples"]
    assert [s["id"] for s in first] == ranked[:3]
    card = first[0]
    assert card["label"] == dataset[ranked[0]].ground_truth.label
    assert card["suggestion"] == card["prediction"] == dataset[ranked[0]].predictions.label
    assert card["score"] == pytest.approx(1.0) and card["confidence"] == pytest.approx(0.9)
    assert len(card["top"]) == 3 and card["top"][0]["label"] == card["prediction"]
    assert sum(t["p"] for t in card["top"]) == pytest.approx(1.0)
    dataset.default_classes = []  # then the classes are the labels the fields hold
    assert post(client, dataset, "queue", {})["classes"] == ["cat", "dog", "ship"]
    dataset.default_classes = CLASSES
    # a second tab gets the next samples, not the leased ones
    second = post(client, dataset, "next", {"client": "b", "count": 2})["samples"]
    assert [s["id"] for s in second] == ranked[3:5]
    # reviewed samples leave the queue; include_reviewed brings them back
    dataset.select(ranked[5:7]).tag_samples("reviewed")
    third = post(client, dataset, "next", {"client": "c", "count": 1})["samples"]
    assert [s["id"] for s in third] == ranked[7:8]
    again = post(client, dataset, "next", {"client": "c", "count": 1, "include_reviewed": True,
                                           "exclude": ranked[7:8]})["samples"]
    assert [s["id"] for s in again] == ranked[5:6]
    # the session's view and an explicit order apply
    view = dataset.match_tags("train")
    ordered = post(client, dataset, "next", {"client": "d", "count": 20, "view": view.to_json(),
                                             "order_by": "mistakenness", "include_reviewed": True})
    expected = view.sort_by("mistakenness", reverse=True).values("id")
    held = ranked[:5] + ranked[5:6] + ranked[7:8]  # leased by the other tabs
    assert [s["id"] for s in ordered["samples"]] == [i for i in expected if i not in held]


def test_decisions_write_labels_tags_history_and_progress(client: TestClient, dataset: ll.Dataset,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABELLENS_REVIEWER", "ana")
    cards = post(client, dataset, "next", {"client": "a", "count": 4})["samples"]
    a, b, c, d = (card["id"] for card in cards)
    old = {card["id"]: card["label"] for card in cards}
    entry = post(client, dataset, "decide", decision(cards[0], "accept", cards[0]["suggestion"],
                                                     score=cards[0]["score"],
                                                     suggestion=cards[0]["suggestion"]))["entry"]
    assert (entry["old_label"], entry["new_label"], entry["decision"], entry["reviewer"]) == \
        (old[a], cards[0]["suggestion"], "accept", "ana")
    assert labels_and_tags(dataset, a) == (cards[0]["suggestion"], ["relabeled", "reviewed", "test"])
    post(client, dataset, "decide", decision(cards[1], "keep", reviewer="bo"))
    post(client, dataset, "decide", decision(cards[2], "unusable"))
    pick = "ship" if old[d] != "ship" else "cat"
    post(client, dataset, "decide", decision(cards[3], "pick", pick))
    assert labels_and_tags(dataset, b)[0] == old[b] and "reviewed" in labels_and_tags(dataset, b)[1]
    assert "unusable" in labels_and_tags(dataset, c)[1]
    assert labels_and_tags(dataset, d)[0] == pick
    history = dataset.label_history()
    assert [(e["sample_id"], e["decision"]) for e in history] == [(d, "pick"), (c, "unusable"), (b, "keep"),
                                                                  (a, "accept")]
    assert history[2]["reviewer"] == "bo" and history[3]["score"] == pytest.approx(cards[0]["score"])
    progress = post(client, dataset, "progress", {})
    assert progress["reviewed"] == 4 and progress["in_queue"] == len(dataset) - 4
    assert (progress["kept"], progress["changed"], progress["unusable"]) == (1, 2, 1)
    assert progress["changed_share"] == pytest.approx(0.5)
    left = dataset.match_tags("reviewed", bool=False).values("label_issue")
    assert progress["wrong_left"] == pytest.approx(sum(left))
    # decided samples are out of the queue and their leases are free
    assert post(client, dataset, "next", {"client": "b", "count": 1})["samples"][0]["id"] not in (a, b, c, d)
    response = client.get(f"/api/datasets/{dataset.name}/samples/{a}/history")
    assert [e["decision"] for e in response.json()["entries"]] == ["accept"]


def test_undo_restores_the_label_and_tags_and_is_recorded(client: TestClient, dataset: ll.Dataset) -> None:
    (card,) = post(client, dataset, "next", {"client": "a", "count": 1})["samples"]
    before = labels_and_tags(dataset, card["id"])
    pick = "ship" if card["label"] != "ship" else "cat"
    entry = post(client, dataset, "decide", decision(card, "pick", pick))["entry"]
    assert labels_and_tags(dataset, card["id"])[0] == pick
    undone = post(client, dataset, "undo", {"client": "a", "sample_id": card["id"],
                                            "entry_id": entry["id"]})["entry"]
    assert (undone["decision"], undone["old_label"], undone["new_label"]) == ("undo", pick, card["label"])
    assert labels_and_tags(dataset, card["id"]) == before
    assert [e["decision"] for e in dataset.label_history(sample_id=card["id"])] == ["undo", "pick"]
    # the undone sample is back in the queue and held by the tab that undid it
    assert post(client, dataset, "next", {"client": "b", "count": 1})["samples"][0]["id"] != card["id"]
    assert post(client, dataset, "renew", {"client": "a", "ids": [card["id"]]})["held"] == [card["id"]]
    response = client.post(path(dataset, "undo"), json={"client": "a", "sample_id": card["id"],
                                                        "entry_id": "nope"})
    assert response.status_code == 404
    assert response.json()["error"] == (f"no history entry 'nope' for sample {card['id']!r}; "
                                        "undo takes the entry a decision returned")


def test_two_concurrent_reviewers_never_share_a_sample_and_lose_no_decision(client: TestClient,
                                                                            dataset: ll.Dataset) -> None:
    shown: dict[str, list[str]] = {"ana": [], "bo": []}
    shown_cards: dict[str, list[dict[str, Any]]] = {"ana": [], "bo": []}
    errors: list[BaseException] = []

    def review(name: str) -> None:
        try:
            held: list[str] = []
            while True:
                got = post(client, dataset, "next", {"client": name, "count": 2, "exclude": held})["samples"]
                if not got and not held:
                    return
                held += [card["id"] for card in got]
                shown[name] += [card["id"] for card in got]
                shown_cards[name] += got
                sample = held.pop(0)
                card = next(c for c in shown_cards[name] if c["id"] == sample)
                post(client, dataset, "decide", decision(card, "keep", client=name, reviewer=name))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=review, args=(name,)) for name in shown]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert not set(shown["ana"]) & set(shown["bo"])
    assert sorted(shown["ana"] + shown["bo"]) == sorted(dataset.values("id"))
    history = dataset.label_history()
    assert sorted(e["sample_id"] for e in history) == sorted(dataset.values("id"))
    assert {e["reviewer"] for e in history} <= {"ana", "bo"}
    assert len(dataset.match_tags("reviewed")) == len(dataset)


def test_leases_expire_renew_and_release(client: TestClient, dataset: ll.Dataset) -> None:
    now = [0.0]
    client.app.state.labellens.leases = Leases(ttl=10, clock=lambda: now[0])
    (card,) = post(client, dataset, "next", {"client": "a", "count": 1})["samples"]
    assert post(client, dataset, "next", {"client": "b", "count": 1})["samples"][0]["id"] != card["id"]
    now[0] = 8.0
    assert post(client, dataset, "renew", {"client": "a", "ids": [card["id"]]})["held"] == [card["id"]]
    now[0] = 15.0
    assert post(client, dataset, "next", {"client": "c", "count": 1})["samples"][0]["id"] != card["id"]
    now[0] = 30.0  # a closed tab's lease runs out: the sample is free again
    assert post(client, dataset, "next", {"client": "c", "count": 1})["samples"][0]["id"] == card["id"]
    assert post(client, dataset, "renew", {"client": "a", "ids": [card["id"]]})["held"] == []
    post(client, dataset, "release", {"client": "c", "ids": [card["id"]]})
    assert post(client, dataset, "next", {"client": "a", "count": 1})["samples"][0]["id"] == card["id"]


def test_bulk_accept_says_how_many_labels_change_before_writing(client: TestClient,
                                                               dataset: ll.Dataset) -> None:
    ids = dataset.values("id")[:6]
    changes = sum(s != g for s, g in zip(dataset.select(ids).values("label_issue_suggestion"),
                                         dataset.select(ids).values("ground_truth.label")))
    plan = post(client, dataset, "bulk", {"ids": ids})
    assert (plan["selected"], plan["samples"], plan["changes"], plan["written"]) == (6, 6, changes, 0)
    assert dataset.label_history() == [] and len(dataset.match_tags("reviewed")) == 0
    done = post(client, dataset, "bulk", {"ids": ids, "confirm": True, "reviewer": "ana"})
    assert done["written"] == 6
    chosen = dataset.select(ids)
    assert chosen.values("ground_truth.label") == chosen.values("label_issue_suggestion")
    assert len(dataset.match_tags("relabeled")) == changes and len(dataset.match_tags("reviewed")) == 6
    assert {e["decision"] for e in dataset.label_history()} == {"accept"}


@pytest.mark.parametrize("rest, body, message", [
    ("decide", {"client": "a", "sample_id": "ID", "decision": "maybe"}, "decision must be one of"),
    ("decide", {"client": "a", "sample_id": "ID", "decision": "pick"}, "needs the chosen label"),
    ("decide", {"client": "a", "sample_id": "ID", "decision": "pick", "label": "wolf"}, "default_classes"),
    ("decide", {"client": "a b", "sample_id": "ID", "decision": "keep"}, "client must be"),
    ("decide", {"client": "a", "sample_id": "nope", "decision": "keep"}, "sample ids"),
    ("next", {"client": "a", "count": 0}, "count must be"),
    ("next", {"client": "a", "order_by": "filepath"}, "order_by must be a numeric field"),
    ("next", {"client": "a", "label_field": "mistakenness"}, "label_field must be a Classification"),
    ("bulk", {"ids": []}, "select samples first"),
])
def test_bad_requests_write_nothing(client: TestClient, dataset: ll.Dataset, rest: str, body: dict[str, Any],
                                    message: str) -> None:
    body = {k: (dataset.first().id if v == "ID" else v) for k, v in body.items()}
    if rest == "decide":
        body = {"decision_id": "d-1", "seen_label": dataset.first().ground_truth.label, **body}
    before = dataset.values("ground_truth.label")
    response = client.post(path(dataset, rest), json=body)
    assert response.status_code == 400 and message in response.json()["error"]
    assert dataset.values("ground_truth.label") == before and dataset.label_history() == []


def test_deciding_on_a_sample_that_does_not_exist_is_a_404(client: TestClient, dataset: ll.Dataset) -> None:
    before = dataset.values("ground_truth.label")
    response = client.post(path(dataset, "decide"), json={"client": "a", "sample_id": "0" * 24,
                                                          "decision": "keep", "seen_label": None,
                                                          "decision_id": "d-1"})
    assert response.status_code == 404 and "no samples with ids" in response.json()["error"]
    assert dataset.values("ground_truth.label") == before and dataset.label_history() == []


def test_a_thousand_classes_send_the_top_five_and_every_name(backend: str, tmp_path: Path) -> None:
    classes = [f"class_{i:04d}" for i in range(1000)]
    dataset = ll.Dataset("imagenet-like")
    dataset.default_classes = classes
    logits = np.zeros((3, 1000), dtype=np.float32)
    logits[:, 7] = 9
    logits[:, 3] = 8
    dataset.add_samples([ll.Sample(filepath=str(tmp_path / f"{i}.png"), label_issue=0.5,
                                   ground_truth=ll.Classification(label=classes[i]),
                                   predictions=ll.Classification(label=classes[7], logits=logits[i]))
                         for i in range(3)])
    with TestClient(create_app(AppState(dataset.name)), base_url="http://127.0.0.1") as client:
        queue = post(client, dataset, "queue", {})
        assert queue["classes"] == classes
        (card,) = post(client, dataset, "next", {"client": "a", "count": 1})["samples"]
        assert [t["label"] for t in card["top"]][:2] == [classes[7], classes[3]] and len(card["top"]) == 5
        post(client, dataset, "decide", decision(card, "pick", classes[999]))
    assert dataset[card["id"]].ground_truth.label == classes[999]


# -- issue 27: decisions that cannot be lost or forged --------------------------------------------


def next_card(client: TestClient, dataset: ll.Dataset, tab: str = "a") -> dict[str, Any]:
    (card,) = post(client, dataset, "next", {"client": tab, "count": 1})["samples"]
    return card


@pytest.mark.parametrize("field", ["ground_truth.label", "nope", "mistakenness", ""])
@pytest.mark.parametrize("rest", ["decide", "bulk", "undo"])
def test_a_review_field_is_a_declared_top_level_classification(client: TestClient, dataset: ll.Dataset,
                                                               rest: str, field: str) -> None:
    card = next_card(client, dataset)
    entry = post(client, dataset, "decide", decision(card, "keep"))["entry"]
    bodies = {"decide": decision(card, "pick", "ship", label_field=field),
              "bulk": {"ids": [card["id"]], "confirm": True, "label_field": field},
              "undo": {"client": "a", "sample_id": card["id"], "entry_id": entry["id"], "label_field": field}}
    schema = dataset.get_field_schema()
    response = client.post(path(dataset, rest), json=bodies[rest])
    assert response.status_code == 400, response.text
    assert "(ground_truth, predictions)" in response.json()["error"]
    assert dataset.get_field_schema() == schema and len(dataset.label_history()) == 1
    assert dataset[card["id"]].ground_truth.label == card["label"]
    summary = client.get(f"/api/datasets/{dataset.name}")
    assert summary.status_code == 200, summary.text  # no Classification stored inside a label string


def test_a_decision_on_predictions_keeps_their_logits(client: TestClient, dataset: ll.Dataset) -> None:
    card = next_card(client, dataset)
    before = dataset[card["id"]].predictions
    label = "ship" if before.label != "ship" else "cat"
    body = {**decision(card, "pick", label, label_field="predictions"), "seen_label": before.label}
    post(client, dataset, "decide", body)
    after = dataset[card["id"]].predictions
    assert after.label == label and after.confidence is None
    assert after.logits.tolist() == pytest.approx(before.logits.tolist())


def test_a_stale_seen_label_is_409_naming_who_changed_it(client: TestClient, dataset: ll.Dataset) -> None:
    card = next_card(client, dataset)
    other = "ship" if card["label"] != "ship" else "cat"
    won = post(client, dataset, "decide", decision(card, "pick", other, reviewer="bo"))["entry"]
    response = client.post(path(dataset, "decide"), json=decision(card, "keep", reviewer="ana"))
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["status"] == 409 and f"is now {other!r}: bo changed it at 20" in body["error"]
    assert won["id"] in body["error"]
    assert [e["reviewer"] for e in dataset.label_history()] == ["bo"]


def test_a_sample_another_tab_holds_is_409(client: TestClient, dataset: ll.Dataset) -> None:
    card = next_card(client, dataset, "a")
    response = client.post(path(dataset, "decide"), json=decision(card, "keep", client="b"))
    assert response.status_code == 409 and "held by another review tab" in response.json()["error"]
    assert dataset.label_history() == [] and "reviewed" not in dataset[card["id"]].tags
    post(client, dataset, "decide", decision(card, "keep", client="a"))


def test_a_repeated_decision_id_answers_the_first_entry(client: TestClient, dataset: ll.Dataset) -> None:
    card = next_card(client, dataset)
    other = "ship" if card["label"] != "ship" else "cat"
    body = decision(card, "pick", other)
    first = post(client, dataset, "decide", body)["entry"]
    again = post(client, dataset, "decide", body)["entry"]  # a retry after a lost answer
    assert again == first and len(dataset.label_history()) == 1
    for bad in ({**body, "decision_id": "no spaces"}, {k: v for k, v in body.items() if k != "decision_id"},
                {k: v for k, v in body.items() if k != "seen_label"}, {**body, "seen_label": 3}):
        response = client.post(path(dataset, "decide"), json=bad)
        assert response.status_code == 400 and ("decision_id" in response.json()["error"]
                                                or "seen_label" in response.json()["error"])
    assert len(dataset.label_history()) == 1


def test_undo_after_another_reviewers_decision_is_409(client: TestClient, dataset: ll.Dataset) -> None:
    card = next_card(client, dataset)
    other = "ship" if card["label"] != "ship" else "cat"
    mine = post(client, dataset, "decide", decision(card, "pick", other, reviewer="ana"))["entry"]
    later = post(client, dataset, "decide", {**decision(card, "unusable", reviewer="bo"),
                                             "seen_label": other})["entry"]
    response = client.post(path(dataset, "undo"), json={"client": "a", "sample_id": card["id"],
                                                        "entry_id": mine["id"]})
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert "changed again by bo at 20" in error and later["id"] in error
    label, tags = labels_and_tags(dataset, card["id"])
    assert label == other and {"relabeled", "reviewed", "unusable"} <= set(tags)
    assert len(dataset.label_history()) == 2


@pytest.mark.parametrize("reviewer", ["x" * 65, "a\nb", 7])
def test_a_reviewer_name_is_1_to_64_printable_characters(client: TestClient, dataset: ll.Dataset,
                                                         reviewer: Any) -> None:
    card = next_card(client, dataset)
    response = client.post(path(dataset, "decide"), json=decision(card, "keep", reviewer=reviewer))
    assert response.status_code == 400 and "reviewer name" in response.json()["error"]
    assert dataset.label_history() == []


def test_a_reviewer_token_names_the_reviewer_whatever_the_body_says(dataset: ll.Dataset,
                                                                   tmp_path: Path) -> None:
    app = create_app(AppState(dataset.name), reviewers={"alice-secret": "alice"}, cache_dir=tmp_path / "t")
    with TestClient(app, base_url="http://127.0.0.1",
                    headers={"X-LabelLens-Token": "alice-secret"}) as client:
        card = next_card(client, dataset)
        entry = post(client, dataset, "decide", decision(card, "keep", reviewer="mallory"))["entry"]
    assert entry["reviewer"] == "alice" and dataset.label_history()[0]["reviewer"] == "alice"


def test_the_history_route_sends_the_label_document_before_each_decision(client: TestClient,
                                                                         dataset: ll.Dataset) -> None:
    card = next_card(client, dataset)
    dataset.set_values("ground_truth.confidence", [0.25], ids=[card["id"]])
    card = {**card, "label": dataset[card["id"]].ground_truth.label}
    post(client, dataset, "decide", decision(card, "pick", "ship" if card["label"] != "ship" else "cat"))
    (entry,) = client.get(f"/api/datasets/{dataset.name}/samples/{card['id']}/history").json()["entries"]
    assert entry["old_doc"]["label"] == card["label"] and entry["old_doc"]["confidence"] == 0.25
    assert entry["old_doc"]["id"] == dataset[card["id"]].ground_truth.id
