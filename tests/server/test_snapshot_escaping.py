"""A frozen snapshot's embedded JSON cannot end or change its script element, whatever the labels hold."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from browser_support import BROWSER_MARKS
from labelled_images import make_samples

import labellens as ll
from labellens.server.snapshot import collect, render_html, script_json

HOSTILE = ["<!--", "<script>", "</script><script>alert(1)</script>", "a & b > c", "\u2028\u2029"]


def test_snapshot_json_cannot_end_or_change_its_script(backend: str, tmp_path: Path) -> None:
    dataset = ll.Dataset("hostile")
    dataset.add_samples(make_samples(tmp_path / "images", HOSTILE))
    page = render_html(collect(dataset, [], {}, limit=10))
    script = page.split("<script>\n", 1)[1]
    data = script.split("const data = ", 1)[1].split(";\n__colors", 1)[0]
    # The page's only script ends where the page put its end; nothing in the data opens a comment.
    assert script.count("</script>") == 1 and script.rstrip().endswith("</script></body></html>")
    assert not set("<>&\u2028\u2029") & set(data)
    samples = json.loads(data)["samples"]
    assert sorted(sample["ground_truth"]["label"] for sample in samples) == sorted(HOSTILE)
    assert sorted(tag for sample in samples for tag in sample["tags"]) == sorted(HOSTILE)


def test_script_json_reads_back_the_same_value() -> None:
    value = {"k<!--": ["</script>", "&amp;", "\u2028", "é", 1.5, None]}
    text = script_json(value)
    assert json.loads(text) == value and not set("<>&\u2028\u2029") & set(text)


@pytest.mark.parametrize("backend", ["mongomock"], indirect=True)
@BROWSER_MARKS[0]
@BROWSER_MARKS[1]
def test_a_frozen_snapshot_of_such_labels_shows_every_tile_in_a_browser(backend: str, tmp_path: Path,
                                                                          page) -> None:
    dataset = ll.Dataset("hostile")
    dataset.add_samples(make_samples(tmp_path / "images", HOSTILE))
    frozen = tmp_path / "frozen.html"
    frozen.write_text(render_html(collect(dataset, [], {}, limit=10)), encoding="utf-8")
    page.goto(frozen.as_uri())
    page.wait_for_selector("[data-testid=tile]")
    chips = page.eval_on_selector_all(".tile .chip", "chips => chips.map(c => c.lastChild.textContent)")
    assert sorted(chip.strip() for chip in chips) == sorted(label.strip() for label in HOSTILE)
    assert len(page.query_selector_all("[data-testid=tile]")) == len(HOSTILE)
