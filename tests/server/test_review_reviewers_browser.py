"""In headless Chromium: a named reviewer's tab, a decision retried after its answer was lost, and the
409 a reviewer sees when another reviewer changed the label meanwhile (decide and undo)."""

from __future__ import annotations

import json

import pytest
from browser_support import BROWSER_MARKS, label_of, settled, shown, wait_until

from labellens.dataset import LabelChange
from labellens.session import launch_app

pytestmark = BROWSER_MARKS


def conflict_text(page) -> str:
    node = page.locator("[data-testid=review-conflict]")
    return node.inner_text() if node.is_visible() else ""


@pytest.mark.parametrize("backend", ["mongod"], indirect=True)
def test_a_reviewer_sees_a_conflict_in_a_browser(backend, dataset, page, tmp_path, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    n = len(dataset)
    dataset.set_values("label_issue", [1 - i / n for i in range(n)])
    dataset.set_values("label_issue_suggestion", dataset.values("predictions.label"))
    ranked = dataset.sort_by("label_issue", reverse=True).values("id")
    classes = dataset.default_classes
    sent: list[dict] = []

    def lose_first_answer(route):
        # the first decision reaches the server, but its answer never reaches the tab
        sent.append(json.loads(route.request.post_data))
        if len(sent) == 1:
            route.fetch()
            route.abort()
        else:
            route.continue_()

    with launch_app(dataset, port=0, auto=False, reviewers=["alice", "bob"],
                    cache_dir=tmp_path / "thumbs") as session:
        page.route("**/review/decide", lose_first_answer)
        page.goto(session.reviewer_urls["alice"])
        page.wait_for_selector("[data-testid=tile]")
        page.click("[data-testid=review-open]")
        wait_until(page, lambda: shown(page) == ranked[0], "review mode to show the top-scored sample")
        wait_until(page, lambda: page.inner_text("[data-testid=review-reviewer]") == "signed in as alice",
                   "the header to name the reviewer")

        # a decision: its answer is lost, the tab resends it with the same id, it is written once
        suggestion = dataset[ranked[0]].label_issue_suggestion
        page.keyboard.press("Enter")
        wait_until(page, lambda: shown(page) == ranked[1] and settled(page), "the accept to be written")
        assert len(sent) == 2 and sent[0]["decision_id"] == sent[1]["decision_id"]
        assert sent[0]["seen_label"] == dataset.label_history(sample_id=ranked[0])[0]["old_label"]
        assert "reviewer" not in sent[0]
        (entry,) = dataset.label_history(sample_id=ranked[0])
        assert (entry["reviewer"], entry["new_label"]) == ("alice", suggestion)

        # bob changes the label of the sample alice is looking at; alice's pick is refused (409)
        seen = label_of(dataset, ranked[1])
        bobs = next(c for c in classes if c not in (seen, classes[0]))
        dataset.apply_label_changes("ground_truth", [LabelChange(ranked[1], bobs, "pick", reviewer="bob")])
        page.keyboard.press("1")
        wait_until(page, lambda: settled(page) and "bob" in page.inner_text("#toast"), "the conflict message")
        assert sent[-1]["seen_label"] == seen
        assert label_of(dataset, ranked[1]) == bobs
        assert [e["reviewer"] for e in dataset.label_history(sample_id=ranked[1])] == ["bob"]
        # back on that card: not decided, with bob's label now shown
        page.keyboard.press("ArrowLeft")
        wait_until(page, lambda: shown(page) == ranked[1], "moving back")
        wait_until(page, lambda: page.locator("[data-testid=review-label]").count() == 1
                   and page.inner_text("[data-testid=review-label]") == bobs, "the refreshed label")
        message = conflict_text(page)
        assert message.startswith("Not decided:") and "bob" in message
        assert "decided" not in page.inner_text("[data-testid=review-status]")
        page.screenshot(path=str(tmp_path / "review-conflict.png"))

        # deciding again on what is shown now works
        page.keyboard.press("k")
        wait_until(page, lambda: shown(page) == ranked[2] and settled(page), "the keep to be written")
        assert [(e["reviewer"], e["decision"]) for e in dataset.label_history(sample_id=ranked[1])] == \
            [("alice", "keep"), ("bob", "pick")]

        # bob changes it again; alice's undo of her keep is refused and says so
        dataset.apply_label_changes("ground_truth", [LabelChange(ranked[1], seen, "pick", reviewer="bob")])
        page.keyboard.press("z")
        wait_until(page, lambda: shown(page) == ranked[1] and settled(page), "the undo to be answered")
        wait_until(page, lambda: conflict_text(page).startswith("Not undone:"), "the undo's conflict message")
        assert "bob" in conflict_text(page)
        assert label_of(dataset, ranked[1]) == seen
        assert len(dataset.label_history(sample_id=ranked[1])) == 3
        page.screenshot(path=str(tmp_path / "review-undo-conflict.png"))
