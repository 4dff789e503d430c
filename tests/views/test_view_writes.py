"""Writing through views: SampleView saves only what it sees; set_values hits only the view."""

from __future__ import annotations

import pytest

import labellens as ll
from labellens import F
from labellens.errors import ValidationError


def test_samples_of_a_view_are_sample_views(small) -> None:
    sample = small.dataset.match_tags("odd").first()
    assert isinstance(sample, ll.SampleView)
    assert type(small.dataset.first()) is ll.Sample


def test_select_fields_then_save_keeps_the_hidden_fields(small) -> None:
    view = small.dataset.select_fields("score")
    sample = view.first()
    sample.score = 0.25
    sample.tags.append("edited")
    sample.save()
    stored = small.dataset[small.ids[0]]
    assert stored.score == 0.25 and "edited" in stored.tags
    assert stored.gt.label == "cat" and stored.pred.label == "cat" and stored.name == "img_0.jpg"
    assert small.dataset[small.ids[1]].preds.classifications[0].label == "cat"


def test_exclude_fields_then_save_keeps_the_excluded_fields(small) -> None:
    for sample in small.dataset.exclude_fields(["gt", "score"]).match_tags("odd").iter_samples(autosave=True):
        sample["checked"] = True
    assert small.dataset.count("checked") == 5
    assert small.dataset.count("gt") == 10 and small.dataset.values("score")[:3] == [0.5, 0.1, 0.9]


def test_subfield_selection_cannot_overwrite_the_whole_label(small) -> None:
    sample = small.dataset.select_fields("gt.label").first()
    sample.gt = ll.Classification(label="dog")
    with pytest.raises(ValidationError, match="gt"):
        sample.save()
    assert small.dataset.first().gt.confidence == 0.0


def test_filtered_labels_cannot_be_saved_back_but_other_fields_can(small) -> None:
    view = small.dataset.filter_labels("preds", F("label") == "cat")
    sample = view.first()
    assert [c.label for c in sample.preds.classifications] == ["cat"]
    sample.note = "seen"
    sample.save()
    assert small.dataset[sample.id].note == "seen"
    assert len(small.dataset[sample.id].preds.classifications) == 2
    sample.preds.classifications.append(ll.Classification(label="bird"))
    with pytest.raises(ValidationError, match="preds"):
        sample.save()
    with pytest.raises(ValidationError, match="preds"):
        view.set_values("preds", [None] * len(view))
    assert len(small.dataset[sample.id].preds.classifications) == 2


def test_set_values_on_a_view_writes_only_the_view(small) -> None:
    view = small.dataset.match_tags("odd").sort_by("n", reverse=True)
    view.set_values("rank", [1, 2, 3, 4, 5])
    assert small.dataset.values("rank") == [None, 5, None, 4, None, 3, None, 2, None, 1]
    with pytest.raises(ValidationError, match="one value per sample"):
        view.set_values("rank", [1, 2])
    assert small.dataset.values("rank")[1] == 5
    view.set_values("rank", [10, 20], ids=[small.ids[1], small.ids[0]])
    assert small.dataset.values("rank")[:2] == [20, 10]


def test_tagging_a_view_tags_only_its_samples(small) -> None:
    small.dataset.match(F("n") < 3).tag_samples("first")
    assert small.dataset.match_tags("first").values("n") == [0, 1, 2]
    small.dataset.match_tags("first").limit(1).untag_samples("first")
    assert small.dataset.count_values("tags")["first"] == 2


def test_editing_while_iterating_a_take_view(small) -> None:
    """The tutorial's loop: take samples, tag them and change a label, save each."""
    chosen = small.dataset.take(3, seed=4)
    ids = chosen.values("id")
    for sample in chosen:
        sample.tags.append("mistake")
        sample.gt = ll.Classification(label="bird")
        sample.save()
    assert sorted(small.dataset.match_tags("mistake").values("id")) == sorted(ids)
    assert chosen.values("id") == ids
    assert set(small.dataset.select(ids).values("gt.label")) == {"bird"}
