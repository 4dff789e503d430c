"""Stages keep expression trees and compile them with the schema (pure: no database)."""

from __future__ import annotations

import re

import pytest
from stage_schema import CTX

from labellens import F
from labellens.errors import FieldNotFoundError
from labellens.stages import FilterLabels, Match, SortBy, stage_from_json, stage_to_json

FIELDS = "fields are: id, filepath, tags, metadata, gt, preds, score"


def n(path: str) -> dict:
    return {"$ifNull": [path, None]}


def test_stages_keep_the_expression_tree() -> None:
    expr = F("score") > 0.5
    assert Match(expr).filter is expr
    assert SortBy(expr).field_or_expr is expr
    assert FilterLabels("preds", expr).filter is expr


@pytest.mark.parametrize("stage", [
    Match(F("typo") > 0.5),
    Match((F("score") > 0.1) & F("typo.label").is_in(["a"])),
    Match(F("typo").between(0, 1)),
    Match({"typo": {"$gt": 1}}),
    Match({"$or": [{"score": 1}, {"typo": 2}]}),
    Match({"$expr": {"$gt": ["$typo", {"$literal": "$score"}]}}),
    SortBy("typo"),
    SortBy(F("typo") * 2),
    SortBy({"$multiply": ["$typo", 2]}),
    FilterLabels("typo", F("label") == "cat"),
])
def test_unknown_fields_raise_one_error_naming_the_field_and_the_fields(stage) -> None:
    with pytest.raises(FieldNotFoundError, match=re.escape(f"no field 'typo' in this dataset; {FIELDS}")):
        stage.to_mongo(CTX)


def test_embedded_internal_and_label_relative_paths_are_valid() -> None:
    assert Match(F("gt.label") == "cat").to_mongo(CTX) == [
        {"$match": {"$expr": {"$eq": [n("$gt.label"), "cat"]}}}]
    assert Match(F("id").exists() & F("gt.logits").exists()).to_mongo(CTX)
    assert Match({"_id": {"$exists": True}, "$expr": {"$gt": ["$$ROOT.score", "$_rand"]}}).to_mongo(CTX)
    # Fields in a FilterLabels filter (and inside filter()/map()) are relative to the label.
    kept = FilterLabels("preds", F("any_attribute") > 1).to_mongo(CTX)[1]["$addFields"]["preds"]
    assert "$$this.any_attribute" in repr(kept)
    assert Match(F("preds.classifications").filter(F("anything") > 1).length() > 0).to_mongo(CTX)


def test_between_and_is_in_compile_to_the_plain_query_form_at_the_top_level() -> None:
    assert Match(F("score").between(0.2, 0.8)).to_mongo(CTX) == [
        {"$match": {"score": {"$gte": 0.2, "$lte": 0.8}}}]
    assert Match(F("gt.label").is_in(["cat", "dog"])).to_mongo(CTX) == [
        {"$match": {"gt.label": {"$in": ["cat", "dog"]}}}]
    assert Match(F("id").is_in([])).to_mongo(CTX) == [{"$match": {"_id": {"$in": []}}}]
    both = F("score").between(0, 1) & (F("gt.confidence") > 0.5)
    assert Match(both).to_mongo(CTX) == [{"$match": {"$and": [
        {"score": {"$gte": 0, "$lte": 1}},
        {"$expr": {"$gt": [n("$gt.confidence"), 0.5]}},
    ]}}]


def test_between_and_is_in_keep_expression_semantics_where_the_query_form_differs() -> None:
    # A list field: the query form would match any element, the expression the whole list.
    assert Match(F("tags").is_in([["a"]])).to_mongo(CTX) == [
        {"$match": {"$expr": {"$in": [n("$tags"), [["a"]]]}}}]
    assert Match(~F("score").between(0, 1)).to_mongo(CTX) == [{"$match": {"$expr": {"$not": {"$and": [
        {"$gte": [n("$score"), 0]}, {"$lte": [n("$score"), 1]}]}}}}]
    assert Match(F("score").between(F("gt.confidence"), 1)).to_mongo(CTX)[0]["$match"] == {"$expr": {"$and": [
        {"$gte": [n("$score"), "$gt.confidence"]}, {"$lte": [n("$score"), 1]}]}}


def test_sort_breaks_ties_by_id_in_the_same_direction() -> None:
    assert SortBy("score", reverse=True).to_mongo(CTX) == [{"$sort": {"score": -1, "_id": -1}}]
    assert SortBy("id", reverse=True).to_mongo(CTX) == [{"$sort": {"_id": -1}}]
    assert SortBy({"$multiply": ["$score", 2]}).to_mongo(CTX)[1] == {"$sort": {"_sort_key": 1, "_id": 1}}


@pytest.mark.parametrize("stage", [
    Match(F("score").between(0, 1) & (F("gt.label") != "cat")),
    SortBy(F("score") * -1, reverse=True),
    FilterLabels("preds", F("confidence") > 0.5, only_matches=False),
])
def test_expression_stages_round_trip_through_json_with_the_same_pipeline(stage) -> None:
    rebuilt = stage_from_json(stage_to_json(stage))
    assert rebuilt == stage and stage_to_json(rebuilt) == stage_to_json(stage)
    assert hash(rebuilt) == hash(stage)
    if not isinstance(stage, Match):  # a reloaded Match keeps the $expr form (same samples)
        assert rebuilt.to_mongo(CTX) == stage.to_mongo(CTX)
    assert "F(" not in repr(stage)


def test_saved_views_in_the_stored_form_still_load_and_check_fields() -> None:
    saved = {"_cls": "Match", "kwargs": {"filter": {"$expr": {"$gt": [n("$score"), 0.5]}}}}
    stage = stage_from_json(saved)
    assert stage.to_mongo(CTX) == [{"$match": saved["kwargs"]["filter"]}]
    assert stage == Match(F("score") > 0.5)
    with pytest.raises(FieldNotFoundError):
        saved = {"_cls": "SortBy", "kwargs": {"field_or_expr": "typo", "reverse": False}}
        stage_from_json(saved).to_mongo(CTX)
