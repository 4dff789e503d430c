"""End to end in headless Chromium: review mode, one key per decision, the database checked after each key."""

from __future__ import annotations

import re

import pytest
from browser_support import BROWSER_MARKS, all_images_loaded, label_of, settled, shown, wait_until

from labellens.session import launch_app

pytestmark = BROWSER_MARKS


@pytest.mark.parametrize("backend", ["mongod"], indirect=True)
def test_review_mode_in_a_browser(backend, dataset, page, tmp_path, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setenv("LABELLENS_REVIEWER", "ana")
    n = len(dataset)
    dataset.set_values("label_issue", [1 - i / n for i in range(n)])
    dataset.set_values("label_issue_suggestion", dataset.values("predictions.label"))
    ranked = dataset.sort_by("label_issue", reverse=True).values("id")
    classes = dataset.default_classes
    with launch_app(dataset, port=0, auto=False, cache_dir=tmp_path / "thumbs") as session:
        page.goto(session.url)
        page.wait_for_selector("[data-testid=tile]")
        page.click("[data-testid=review-open]")
        wait_until(page, lambda: shown(page) == ranked[0], "review mode to show the top-scored sample")
        all_images_loaded(page)
        assert page.inner_text("[data-testid=review-score]") == "1"
        assert page.get_attribute("[data-testid=review-progress]", "data-in-queue") == str(n)
        assert page.locator("[data-testid=review-classes] li").count() == len(classes)
        assert page.locator("[data-testid=review-top] .bar-row").count() == len(classes)
        page.screenshot(path=str(tmp_path / "review.png"))

        # Enter accepts the suggestion: written at once, the next sample shown
        suggestion = dataset[ranked[0]].label_issue_suggestion
        before = label_of(dataset, ranked[0])
        page.keyboard.press("Enter")
        wait_until(page, lambda: shown(page) == ranked[1] and settled(page), "the accept to be written")
        assert label_of(dataset, ranked[0]) == suggestion
        (entry,) = dataset.label_history(sample_id=ranked[0])
        assert (entry["decision"], entry["old_label"], entry["new_label"], entry["reviewer"]) == \
            ("accept", before, suggestion, "ana")
        assert "reviewed" in dataset[ranked[0]].tags

        # a number key picks that class
        page.keyboard.press("3")
        wait_until(page, lambda: shown(page) == ranked[2] and settled(page), "the pick to be written")
        assert label_of(dataset, ranked[1]) == classes[2]
        assert dataset.label_history(sample_id=ranked[1])[0]["decision"] == "pick"
        wait_until(page, lambda: page.get_attribute("[data-testid=review-progress]", "data-reviewed") == "2",
                   "the header to count two reviews")

        # Z undoes the pick: the old label is back, the sample shown again, recorded as undo
        old = dataset.label_history(sample_id=ranked[1])[0]["old_label"]
        page.keyboard.press("z")
        wait_until(page, lambda: shown(page) == ranked[1] and settled(page), "the undo to be written")
        assert label_of(dataset, ranked[1]) == old
        assert [e["decision"] for e in dataset.label_history(sample_id=ranked[1])] == ["undo", "pick"]
        assert "reviewed" not in dataset[ranked[1]].tags
        wait_until(page, lambda: page.get_attribute("[data-testid=review-progress]", "data-reviewed") == "1",
                   "the header to count one review")

        # typing filters the classes (after "/", or starting with a letter that is no command key)
        page.keyboard.press("/")
        page.keyboard.type("sh")
        assert page.locator("[data-testid=review-classes] li").count() == 1
        page.keyboard.press("Escape")
        page.keyboard.type("do")
        assert page.locator("[data-testid=review-classes] li").count() == 1
        page.keyboard.press("Escape")
        assert page.locator("[data-testid=review-classes] li").count() == len(classes)
        # K keeps, X marks unusable, S skips, arrows move
        page.keyboard.press("k")
        wait_until(page, lambda: shown(page) == ranked[2] and settled(page), "the keep to be written")
        page.keyboard.press("x")
        wait_until(page, lambda: shown(page) == ranked[3] and settled(page), "the unusable mark")
        assert "unusable" in dataset[ranked[2]].tags
        page.keyboard.press("s")
        wait_until(page, lambda: shown(page) == ranked[4], "the skip")
        assert dataset.label_history(sample_id=ranked[3]) == []
        page.keyboard.press("ArrowLeft")
        wait_until(page, lambda: shown(page) == ranked[3], "moving back")
        page.screenshot(path=str(tmp_path / "review-after-keys.png"))

        # leave review mode; bulk-accept two selected samples after a confirmation
        page.keyboard.press("Escape")
        assert page.locator("[data-testid=review]").is_hidden()
        page.wait_for_selector("[data-testid=tile]")
        page.locator("[data-testid=tile] .tile-check").nth(0).click()
        page.locator("[data-testid=tile] .tile-check").nth(1).click()
        messages: list[str] = []
        page.once("dialog", lambda dialog: (messages.append(dialog.message), dialog.accept()))
        with page.expect_response(re.compile(r".*/review/bulk$")) as response:
            page.click("[data-testid=bulk-accept]")
        assert response.value.ok
        wait_until(page, lambda: bool(messages) and "accepted" in page.inner_text("#toast"), "bulk accept")
        assert re.search(r"of 2 selected samples\? \d+ labels? will change", messages[0])
        assert len(dataset.match_tags("reviewed")) >= 3

        # the sample modal shows the sample's label history
        page.locator(f"[data-testid=tile][data-id='{ranked[1]}'] .thumb").click()
        page.wait_for_selector("[data-testid=sample-history]")
        history_text = page.inner_text("[data-testid=sample-history]")
        assert "undo" in history_text and "pick" in history_text and "ana" in history_text
        shot = tmp_path / "review-history.png"
        page.screenshot(path=str(shot))
        assert shot.stat().st_size > 10_000
        page.screenshot(path=str(tmp_path / "review-grid.png"))
