"""End to end in headless Chromium: the App shows the dataset, filters, sorts, tags and follows Python."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from browser_support import BROWSER_MARKS, all_images_loaded, wait_until

from labellens.server.colors import LIGHTNESS, SATURATION
from labellens.session import launch_app

pytestmark = BROWSER_MARKS
RULES = json.loads((Path(__file__).parents[1] / "fixtures" / "js_python_rules.json").read_text("utf-8"))


def tile_ids(page) -> list[str]:
    return page.eval_on_selector_all("[data-testid=tile]", "tiles => tiles.map(t => t.dataset.id)")


def histogram_total(page, field: str) -> int:
    """The samples counted by a range slider's histogram bars (each bar's title ends in its count)."""
    titles = page.eval_on_selector_all(f".range[data-field={field}] .range-hist .bar",
                                       "bars => bars.map(b => b.title)")
    return sum(int(t.rsplit(": ", 1)[1].replace(",", "")) for t in titles)


def wait_for_tiles(page, ids: list[str], ordered: bool = False) -> None:
    def shown() -> bool:
        now = tile_ids(page)
        return now == ids if ordered else sorted(now) == sorted(ids)
    wait_until(page, shown, f"the grid to show {len(ids)} samples")


@pytest.mark.parametrize("backend", ["mongod"], indirect=True)
def test_the_app_in_a_browser(backend, dataset, page, tmp_path, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    with launch_app(dataset, port=0, auto=False, cache_dir=tmp_path / "thumbs") as session:
        page.goto(session.url)

        # the grid shows every sample, with labels drawn and disagreements marked
        wait_for_tiles(page, dataset.values("id"))
        all_images_loaded(page)
        assert page.get_attribute("[data-testid=sample-count]", "data-count") == str(len(dataset))
        assert page.locator(".tile.mismatch").count() == 4
        assert page.locator(".tile .chip").count() == 2 * len(dataset)

        # the score's histogram above its range slider: 20 bars holding every sample of the view
        wait_until(page, lambda: histogram_total(page, "mistakenness") == len(dataset), "the histogram")
        assert page.locator(".range[data-field=mistakenness] .range-hist .bar").count() == 20
        page.locator("#range-section").screenshot(path=str(tmp_path / "histogram.png"))

        # a tag filter
        page.locator("[data-testid=tag-filters] label", has_text="train").locator("input").check()
        wait_for_tiles(page, dataset.match_tags("train").values("id"))

        # sort by mistakenness (descending by default)
        page.select_option("[data-testid=sort-field]", "mistakenness")
        expected = dataset.match_tags("train").sort_by("mistakenness", reverse=True).values("id")
        wait_for_tiles(page, expected, ordered=True)
        scores = [float(s) for s in page.locator("[data-testid=score]").all_inner_texts()]
        assert scores == sorted(scores, reverse=True)

        # select the top sample and tag it: written to the database at once
        page.locator("[data-testid=tile] .tile-check").first.click()
        assert page.inner_text("[data-testid=selection-count]") == "1 selected"
        page.fill("[data-testid=tag-input]", "needs-review")
        with page.expect_response(re.compile(r".*/tag$")) as response:
            page.click("[data-testid=tag-add]")
        assert response.value.ok
        assert dataset.match_tags("needs-review").values("id") == [expected[0]]
        page.wait_for_selector("[data-testid=tag-filters] label:has-text('needs-review')")
        wait_until(page, lambda: session.selected == [expected[0]], "the selection to reach Python")

        # the modal: large image, fields, logits chart; arrows move, Esc closes
        page.locator("[data-testid=tile] .thumb").first.click()
        page.wait_for_selector("[data-testid=logits-chart]")
        assert "1 / 6" in page.inner_text("#modal-title")
        assert "needs-review" in page.inner_text("[data-testid=modal-fields]")
        page.keyboard.press("ArrowRight")
        wait_until(page, lambda: page.inner_text("#modal-title").startswith("2 / 6"), "the next sample")
        # the fields are the second sample's once they arrive (until then the first's are dimmed)
        page.wait_for_selector(f".modal-side[aria-busy=false][data-sample-id='{expected[1]}']")
        assert expected[1] in page.inner_text("[data-testid=modal-fields]")
        # the bars are the probabilities the server sent (they fill 100 % together)
        widths = page.eval_on_selector_all("[data-testid=logits-chart] .bar span",
                                           "spans => spans.map(s => parseFloat(s.style.width))")
        assert len(widths) == 3 and sum(widths) == pytest.approx(100, abs=0.2)
        page.screenshot(path=str(tmp_path / "modal.png"))
        page.keyboard.press("Escape")
        assert page.locator("[data-testid=modal]").is_hidden()

        # Python changes the view: the open tab follows
        session.view = dataset.match_tags("test")
        wait_for_tiles(page, dataset.match_tags("test").values("id"))
        assert "MatchTags" in page.inner_text("#view-desc")
        wait_until(page, lambda: histogram_total(page, "mistakenness") == len(dataset.match_tags("test")),
                   "the histogram of the new view")
        all_images_loaded(page)
        shot = tmp_path / "app.png"
        page.screenshot(path=str(shot))
        assert shot.stat().st_size > 10_000


@pytest.mark.parametrize("backend", ["mongod"], indirect=True)
def test_frozen_snapshot_colours_equal_the_live_app_without_default_classes(backend, dataset, page, tmp_path,
                                                                          monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    dataset.default_classes = []
    chip_colours = ("els => Object.fromEntries(els.map(c => [c.lastChild.textContent.trim(), "
                    "getComputedStyle(c).borderTopColor]))")
    with launch_app(dataset, port=0, auto=False, cache_dir=tmp_path / "thumbs") as session:
        page.goto(session.url)
        wait_for_tiles(page, dataset.values("id"))
        live = page.eval_on_selector_all(".tile .chip", chip_colours)
        frozen_page = session.freeze(tmp_path / "frozen.html")
    page.goto(frozen_page.as_uri())
    page.wait_for_selector(".chip")
    frozen = page.eval_on_selector_all(".chip", chip_colours)
    page.screenshot(path=str(tmp_path / "frozen.png"))
    assert set(live) == {"cat", "dog", "ship"}
    assert frozen == live
    # the page's colors.js, dom.js and grid.js follow the table that pins colors.py and snapshot.py
    # (the PNG sheet's colours, score text and mismatch marks): listed classes and the hash of other names
    for case in RULES["class_hue"]:
        in_page = page.evaluate("([classes, names]) => { __colors.setClasses(classes); "
                                "return names.map((name) => __colors.classColor(name)); }",
                                [case["classes"], list(case["hues"])])
        assert in_page == [f"hsl({hue}, {SATURATION:.0%}, {LIGHTNESS:.0%})" for hue in case["hues"].values()]
    values = [case["value"] for case in RULES["format_number"]]
    written = page.evaluate("(values) => values.map((v) => __dom.formatNumber(v))", values)
    assert written == [case["text"] for case in RULES["format_number"]]
    marked = page.evaluate("""(cases) => cases.map((labels) => {
        const grid = new __grid.Grid(document.createElement("div"), { onOpen() {}, onSelect() {} });
        grid.clear({ labelFields: labels.map(([field]) => field), scoreField: null, selectable: false,
                     media: () => null });
        const sample = { id: "s", tags: [] };
        for (const [field, label] of labels) sample[field] = { label };
        return grid.tile(sample).classList.contains("mismatch");
    })""", [case["labels"] for case in RULES["disagrees"]])
    assert marked == [case["disagrees"] for case in RULES["disagrees"]]


@pytest.mark.parametrize("backend", ["mongod"], indirect=True)
def test_an_unindexed_sort_on_a_large_dataset_offers_the_index(backend, dataset, page, tmp_path, monkeypatch):
    from labellens.server import routes

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setattr(routes, "INDEX_HINT_SAMPLES", 1)  # the 12-sample dataset counts as large
    with launch_app(dataset, port=0, auto=False, cache_dir=tmp_path / "thumbs") as session:
        page.goto(session.url)
        wait_for_tiles(page, dataset.values("id"))
        assert not page.is_visible("[data-testid=sort-notice]")
        # tag counts without a tags index read every sample: the sidebar offers the index
        page.wait_for_selector("[data-testid=tags-notice]", state="visible")
        page.screenshot(path=str(tmp_path / "tags-notice.png"))
        page.click("[data-testid=tags-index]")
        page.wait_for_selector("[data-testid=tags-notice]", state="hidden")
        assert "tags" in dataset.indexed_fields()
        page.select_option("[data-testid=sort-field]", "mistakenness")
        expected = dataset.sort_by("mistakenness", reverse=True).values("id")
        wait_for_tiles(page, expected, ordered=True)  # the sort still runs
        page.wait_for_selector("[data-testid=sort-notice]", state="visible")
        assert "mistakenness has no index" in page.inner_text("[data-testid=sort-notice]")
        page.screenshot(path=str(tmp_path / "sort-notice.png"))
        page.click("[data-testid=sort-index]")
        page.wait_for_selector("[data-testid=sort-notice]", state="hidden")
        assert "mistakenness" in dataset.indexed_fields()
        page.screenshot(path=str(tmp_path / "sort-indexed.png"))
    print(tmp_path / "sort-notice.png")
