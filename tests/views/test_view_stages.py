"""Every stage and expression, run on mongomock and a real mongod, against expected samples."""

from __future__ import annotations

import json
import re

import pytest

import labellens as ll
from labellens import F
from labellens.errors import FieldNotFoundError, StageError

# name -> (view of the dataset, which rows it holds). Rows are listed in insertion
# order, which is the order of an unsorted view on both backends.
FILTERS = {
    "match_tags": (lambda d: d.match_tags("odd"), lambda r: "odd" in r["tags"]),
    "match_tags_any": (lambda d: d.match_tags(["odd", "third"]),
                       lambda r: "odd" in r["tags"] or "third" in r["tags"]),
    "match_tags_all": (lambda d: d.match_tags(["odd", "third"], all=True),
                       lambda r: "odd" in r["tags"] and "third" in r["tags"]),
    "match_tags_not": (lambda d: d.match_tags("odd", bool=False), lambda r: "odd" not in r["tags"]),
    "match_tags_not_all": (lambda d: d.match_tags(["odd", "third"], bool=False, all=True),
                           lambda r: not ("odd" in r["tags"] and "third" in r["tags"])),
    "match_tags_chained": (lambda d: d.match_tags("odd").match_tags("third"),
                           lambda r: "odd" in r["tags"] and "third" in r["tags"]),
    "match_dict": (lambda d: d.match({"score": {"$gt": 0.5}}), lambda r: (r["score"] or 0) > 0.5),
    "gt": (lambda d: d.match(F("score") > 0.5), lambda r: (r["score"] or 0) > 0.5),
    "lte": (lambda d: d.match(F("gt.confidence") <= 0.3), lambda r: r["gt_conf"] <= 0.3),
    "eq_string": (lambda d: d.match(F("gt.label") == "dog"), lambda r: r["gt"] == "dog"),
    "and": (lambda d: d.match((F("score") > 0.2) & (F("score") < 0.8)),
            lambda r: r["score"] is not None and 0.2 < r["score"] < 0.8),
    "or": (lambda d: d.match((F("n") < 2) | (F("n") > 7)), lambda r: r["n"] < 2 or r["n"] > 7),
    "not": (lambda d: d.match(~(F("gt.label") == "cat")), lambda r: r["gt"] != "cat"),
    "arithmetic": (lambda d: d.match(F("n") * 2 + 1 >= 13), lambda r: r["n"] * 2 + 1 >= 13),
    "divide_subtract": (lambda d: d.match((F("n") - 1) / 2 == 2), lambda r: (r["n"] - 1) / 2 == 2),
    "mod": (lambda d: d.match(F("n") % 3 == 1), lambda r: r["n"] % 3 == 1),
    "abs": (lambda d: d.match(F("score").exists() & (abs(F("score") - 0.5) < 0.25)),
            lambda r: r["score"] is not None and abs(r["score"] - 0.5) < 0.25),
    "is_in": (lambda d: d.match(F("gt.label").is_in(["cat", "bird"])), lambda r: r["gt"] != "dog"),
    "not_is_in": (lambda d: d.match(~F("gt.label").is_in(["cat", "bird"])), lambda r: r["gt"] == "dog"),
    "between": (lambda d: d.match(F("score").between(0.3, 0.7)),
                lambda r: r["score"] is not None and 0.3 <= r["score"] <= 0.7),
    "between_and_expr": (lambda d: d.match(F("n").between(2, 8) & (F("gt.label") != "cat")),
                         lambda r: 2 <= r["n"] <= 8 and r["gt"] != "cat"),
    "is_in_top_level": (lambda d: d.match(F("n").is_in([1, 4, 42])), lambda r: r["n"] in (1, 4)),
    "is_in_list_field": (lambda d: d.match(F("tags").is_in([["odd"]])), lambda r: r["tags"] == ["odd"]),
    "expr_exists": (lambda d: d.match(F("pred").exists()), lambda r: r["pred"] is not None),
    "expr_not_exists": (lambda d: d.match(F("score").exists(False)), lambda r: r["score"] is None),
    "length": (lambda d: d.match(F("tags").length() == 2), lambda r: len(r["tags"]) == 2),
    "length_missing": (lambda d: d.match(F("preds.classifications").length() == 0),
                       lambda r: r["preds"] is None),
    "contains": (lambda d: d.match(F("tags").contains("third")), lambda r: "third" in r["tags"]),
    "contains_any": (lambda d: d.match(F("tags").contains(["third", "nope"])),
                     lambda r: "third" in r["tags"]),
    "contains_all": (lambda d: d.match(F("tags").contains(["third", "even"], all=True)),
                     lambda r: {"third", "even"} <= set(r["tags"])),
    "contains_all_missing_one": (lambda d: d.match(F("tags").contains(["third", "nope"], all=True)),
                                 lambda r: False),
    "starts_with": (lambda d: d.match(F("name").starts_with("img_1")), lambda r: r["n"] == 1),
    "ends_with": (lambda d: d.match(F("name").ends_with(".png")), lambda r: r["n"] % 2 == 1),
    "ends_with_escaped": (lambda d: d.match(F("name").ends_with("pg")), lambda r: r["n"] % 2 == 0),
    "re_match": (lambda d: d.match(F("name").re_match(r"_[0-3]\.")), lambda r: r["n"] <= 3),
    "re_match_options": (lambda d: d.match(F("name").re_match("^IMG_2", options="i")),
                         lambda r: r["n"] == 2),
    "filter_labels_expr": (
        lambda d: d.match(F("preds.classifications").filter(F("confidence") > 0.5).length() > 0),
        lambda r: r["preds"] is not None and any(c > 0.5 for _, c in r["preds"])),
    "map_labels_expr": (
        lambda d: d.match(F("preds.classifications").map(F("confidence")).contains(0.1 * 5)),
        lambda r: r["n"] == 5),
    "field_vs_field": (lambda d: d.match(F("gt.label") != F("pred.label")), lambda r: r["gt"] != r["pred"]),
    "field_vs_field_eq": (lambda d: d.match(F("gt.label") == F("pred.label")),
                          lambda r: r["gt"] == r["pred"]),
    "exists": (lambda d: d.exists("score"), lambda r: r["score"] is not None),
    "exists_false": (lambda d: d.exists("pred", bool=False), lambda r: r["pred"] is None),
    "exists_subfield": (lambda d: d.exists("pred.label"), lambda r: r["pred"] is not None),
    "exclude": (lambda d: d.exclude(d.values("id")[:3]), lambda r: r["n"] >= 3),
    "limit": (lambda d: d.limit(3), lambda r: r["n"] < 3),
    "limit_zero": (lambda d: d.limit(0), lambda r: False),
    "skip": (lambda d: d.skip(7), lambda r: r["n"] >= 7),
    "skip_limit": (lambda d: d.skip(2).limit(3), lambda r: 2 <= r["n"] < 5),
    "filter_labels_stage": (lambda d: d.filter_labels("preds", F("label") == "dog"),
                            lambda r: r["preds"] is not None),
    "filter_labels_confidence": (lambda d: d.filter_labels("preds", F("confidence") > 0.6),
                                 lambda r: r["preds"] is not None and any(c > 0.6 for _, c in r["preds"])),
}


@pytest.mark.parametrize("name", FILTERS)
def test_filters_keep_the_expected_samples(small, name) -> None:
    build, predicate = FILTERS[name]
    before = small.raw_docs()
    view = build(small.dataset)
    expected = small.where(predicate)
    assert small.positions(view) == expected
    assert len(view) == len(expected) == view.count()
    assert small.raw_docs() == before


def test_sort_by_puts_missing_values_first_ascending_and_last_descending(small) -> None:
    missing = set(small.where(lambda r: r["score"] is None))
    ranked = sorted(small.where(lambda r: r["score"] is not None), key=lambda i: small.rows[i]["score"])
    ascending = small.positions(small.dataset.sort_by("score"))
    assert set(ascending[:2]) == missing and ascending[2:] == ranked
    descending = small.positions(small.dataset.sort_by("score", reverse=True))
    assert descending[:-2] == ranked[::-1] and set(descending[-2:]) == missing
    assert small.dataset.sort_by("score", reverse=True).values("score")[:3] == [0.9, 0.8, 0.7]


def test_sort_by_subfield_id_and_expression(small) -> None:
    assert small.positions(small.dataset.sort_by("gt.confidence", reverse=True)) == list(range(10))[::-1]
    assert small.positions(small.dataset.sort_by("id", reverse=True)) == list(range(10))[::-1]
    by_distance = small.dataset.exists("score").sort_by(abs(F("score") - 0.5))
    scores = [r["score"] for r in small.rows if r["score"] is not None]
    assert by_distance.values("score") == sorted(scores, key=lambda x: abs(x - 0.5))
    assert "_sort_key" not in small.dataset.sort_by(F("n") * -1).first().field_names()
    assert small.positions(small.dataset.sort_by(F("n") * -1).limit(2)) == [9, 8]


def test_sort_then_skip_and_limit_page_through_the_order(small) -> None:
    order = small.positions(small.dataset.sort_by("n", reverse=True))
    pages = [small.positions(small.dataset.sort_by("n", reverse=True).skip(s).limit(4)) for s in (0, 4, 8)]
    assert sum(pages, []) == order == list(range(10))[::-1]


def test_take_is_a_random_subset_fixed_by_its_seed(small) -> None:
    dataset = small.dataset
    taken = dataset.take(4, seed=5)
    first = taken.values("id")
    assert len(first) == 4 == len(set(first)) == len(taken)
    assert taken.values("id") == first == dataset.take(4, seed=5).values("id")
    assert dataset.view_from_json(taken.to_json()).values("id") == first
    others = {tuple(dataset.take(4, seed=s).values("id")) for s in range(6)}
    assert len(others) > 1
    unseeded = dataset.take(4)
    assert unseeded.values("id") == unseeded.values("id") == unseeded.values("id")
    assert len(dataset.take(100, seed=1)) == 10
    assert dataset.take(0).values("id") == []
    assert "_rand_key" not in taken.first().field_names()


def test_take_after_a_filter_and_select_fields(small) -> None:
    odd = set(small.where(lambda r: "odd" in r["tags"]))
    view = small.dataset.match_tags("odd").select_fields("score").take(3, seed=9)
    assert set(small.positions(view)) <= odd and len(view) == 3


def test_shuffle_is_a_permutation_fixed_by_its_seed(small) -> None:
    shuffled = small.positions(small.dataset.shuffle(seed=3))
    assert sorted(shuffled) == list(range(10))
    assert small.positions(small.dataset.shuffle(seed=3)) == shuffled
    assert len({tuple(small.positions(small.dataset.shuffle(seed=s))) for s in range(5)}) > 1


def test_select_keeps_the_given_samples(small, backend) -> None:
    picked = [small.ids[i] for i in (7, 2, 5)]
    assert small.positions(small.dataset.select(picked)) == [2, 5, 7]
    assert small.positions(small.dataset.select(picked[0])) == [7]
    if backend == "mongomock":
        pytest.skip("mongomock 4.3 lacks $indexOfArray, which Select(ordered=True) uses")
    assert small.positions(small.dataset.select(picked, ordered=True)) == [7, 2, 5]
    assert small.positions(small.dataset.match_tags("odd").select(picked, ordered=True)) == [7, 5]


def test_select_and_exclude_fields_change_what_samples_show(small) -> None:
    view = small.dataset.select_fields("score")
    assert list(view.get_field_schema()) == ["filepath", "tags", "metadata", "score"]
    sample = view.first()
    assert "gt" not in sample and sample.score == 0.5 and sample.filepath.endswith("img_0.jpg")
    assert view.values("score")[:2] == [0.5, 0.1]
    with pytest.raises(FieldNotFoundError, match="gt"):
        view.values("gt.label")
    excluded = small.dataset.exclude_fields(["gt", "pred"])
    assert "gt" not in excluded.get_field_schema() and "score" in excluded.get_field_schema()
    assert "gt" not in excluded.first() and excluded.first().n == 0
    assert small.dataset.first().gt.label == "cat"


def test_filter_labels_shows_only_matching_labels(small) -> None:
    view = small.dataset.filter_labels("preds", F("confidence") > 0.6)
    labels = view.values("preds.classifications.label")
    confidences = view.values("preds.classifications.confidence")
    assert all(c > 0.6 for row in confidences for c in row)
    expected = [[label for label, c in r["preds"] if c > 0.6] for r in small.rows if r["preds"]]
    assert labels == [kept for kept in expected if kept]
    everything = small.dataset.filter_labels("preds", F("label") == "cat", only_matches=False)
    assert len(everything) == 10
    assert all(v is None or v == ["cat"] for v in everything.values("preds.classifications.label"))


def test_views_are_immutable(small) -> None:
    view = small.dataset.match_tags("odd")
    stages, pipeline = view.stages, view.pipeline()
    limited = view.limit(2)
    sorted_view = view.sort_by("n", reverse=True)
    assert limited is not view and sorted_view is not view
    assert view.stages == stages and view.pipeline() == pipeline
    assert len(view) == 5 and len(limited) == 2
    assert small.positions(sorted_view) == [9, 7, 5, 3, 1]
    assert small.positions(view) == [1, 3, 5, 7, 9]
    assert len(small.dataset) == 10
    with pytest.raises(AttributeError):
        view.stages = ()  # type: ignore[misc]
    assert view.stages == stages


def test_view_json_round_trip(small) -> None:
    view = (small.dataset.match_tags("odd").match(F("n") > 2).exists("pred").sort_by("n", reverse=True)
            .skip(1).limit(5).select_fields("pred").exclude([small.ids[0]]))
    rebuilt = small.dataset.view_from_json(view.to_json())
    assert rebuilt == view
    assert small.positions(rebuilt) == small.positions(view) == [5, 3]


@pytest.mark.parametrize("build", [
    lambda d: d.sort_by("nope"),
    lambda d: d.exists("nope"),
    lambda d: d.values("nope"),
    lambda d: d.match_tags("odd").values("nope.label"),
    lambda d: d.select_fields("nope"),
    lambda d: d.mean("nope"),
    lambda d: d.match(F("nope") > 0.5),
    lambda d: d.match((F("score") > 0.1) & (F("nope.label") == "cat")),
    lambda d: d.match(F("nope").between(0, 1)),
    lambda d: d.match(F("nope").is_in([1])),
    lambda d: d.match({"nope": {"$gt": 1}}),
    lambda d: d.match({"$expr": {"$gt": ["$nope", 1]}}),
    lambda d: d.sort_by(F("nope") * -1),
    lambda d: d.filter_labels("nope", F("label") == "cat"),
])
def test_unknown_fields_raise_naming_the_field_and_the_fields_that_exist(small, build) -> None:
    with pytest.raises(FieldNotFoundError) as info:
        build(small.dataset)
    message = str(info.value)
    assert "'nope'" in message
    assert re.search(r"filepath, tags, metadata, gt, name, n, pred, score, preds", message), message


def test_label_relative_and_embedded_paths_are_valid(small) -> None:
    view = small.dataset.match(F("pred.logits").exists()).filter_labels("preds", F("whatever_attr") == 1)
    assert len(view) == 0
    assert len(small.dataset.match(F("preds.classifications").filter(F("label") == "dog").length() > 0)) == 7


def test_paging_over_equal_scores_never_repeats_or_skips(backend) -> None:
    dataset = ll.Dataset()
    dataset.add_samples(ll.Sample(f"/data/{i}.png", score=float(i % 3 == 0)) for i in range(60))
    for reverse in (False, True):
        ordered = dataset.sort_by("score", reverse=reverse)
        pages = [ordered.skip(start).limit(7).values("id") for start in range(0, 60, 7)]
        seen = [i for page in pages for i in page]
        assert len(seen) == 60 and set(seen) == set(dataset.values("id"))
        assert seen == ordered.values("id")


def test_index_serves_the_sorted_first_page_in_both_directions(backend) -> None:
    if backend != "mongod":
        pytest.skip("query plans are a real mongod's")
    dataset = ll.Dataset()
    dataset.add_samples(ll.Sample(f"/data/{i}.png", score=i % 5 / 5) for i in range(300))
    dataset.create_index("score")
    for reverse in (False, True):
        plan = json.dumps(dataset.sort_by("score", reverse=reverse).limit(50).explain(), default=str)
        assert "IXSCAN" in plan and '"SORT"' not in plan, plan


def test_a_view_checks_its_fields_again_after_the_schema_changes(small) -> None:
    view = small.dataset.match_tags("odd").sort_by("score")
    assert len(view.values("id")) == 5
    small.dataset.delete_sample_field("score")
    with pytest.raises(FieldNotFoundError, match="'score'"):
        view.values("id")
    with pytest.raises(FieldNotFoundError, match="'score'"):
        small.dataset.match_tags("odd").sort_by("score")


def test_a_plain_query_and_an_aggregation_give_the_same_page(small) -> None:
    ordered = small.dataset.sort_by("score", reverse=True)
    as_query = ordered.skip(2).limit(4)  # runs as a find
    as_aggregation = ordered.skip(2).limit(4).match(F("n") >= 0)  # a $match after $limit
    assert as_query.values("id") == as_aggregation.values("id") == ordered.values("id")[2:6]
    assert [s.score for s in as_query] == [s.score for s in as_aggregation]


def test_view_attributes_cannot_be_assigned(small) -> None:
    view = small.dataset.match_tags("odd")
    for name in ("_stages", "_dataset", "anything"):
        with pytest.raises(AttributeError, match="immutable"):
            setattr(view, name, ())
    assert len(view) == 5


def test_refused_queries_raise_before_touching_the_database(small) -> None:
    before = small.raw_docs()
    with pytest.raises(StageError, match=r"\$where"):
        small.dataset.match({"$where": "this.n > 1"})
    with pytest.raises(StageError, match=r"\$function"):
        small.dataset.match({"$expr": {"$function": {"body": "function() {return true}", "args": [],
                                                     "lang": "js"}}})
    with pytest.raises(StageError):
        small.dataset.take(-1)
    assert small.raw_docs() == before
