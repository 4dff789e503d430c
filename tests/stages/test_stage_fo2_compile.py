"""The stages FiftyOne users know as filter_field, limit_labels, match_labels and mongo
compile to exact pipeline fragments given a schema (pure: no database)."""

from __future__ import annotations

import pytest
from bson import ObjectId
from stage_schema import CTX

from labellens import F
from labellens.errors import FieldNotFoundError, StageError
from labellens.stages import CompileContext, Concat, FilterField, Limit, LimitLabels, MatchLabels, Mongo, Skip

ID = str(ObjectId())


def _on(path: str, condition: object) -> dict:
    return {"$let": {"vars": {"this": f"${path}"}, "in": condition}}


def test_filter_field_sets_the_value_to_none_where_the_filter_fails() -> None:
    condition = {"$eq": [{"$ifNull": ["$$this.label", None]}, "cat"]}
    kept = {"$addFields": {"gt": {"$cond": [_on("gt", condition), "$gt", None]}}}
    assert FilterField("gt", F("label") == "cat").to_mongo(CTX) == [kept, {"$match": {"gt": {"$ne": None}}}]
    assert FilterField("gt", F("label") == "cat", only_matches=False).to_mongo(CTX) == [kept]


def test_filter_field_checks_its_field_and_filter() -> None:
    with pytest.raises(FieldNotFoundError):
        FilterField("nope", F() > 1).to_mongo(CTX)
    with pytest.raises(StageError, match="expression"):
        FilterField("score", 1)
    with pytest.raises(StageError, match="refuses"):
        FilterField("score", {"$where": "1"})


def test_limit_labels_slices_the_label_list() -> None:
    (stage,) = LimitLabels("preds", 2).to_mongo(CTX)
    entry = stage["$addFields"]["preds"]["$cond"][1]["$arrayToObject"]["$map"]["in"]["$cond"][1]
    assert entry == {"k": "classifications",
                     "v": {"$slice": [{"$ifNull": ["$preds.classifications", []]}, 2]}}
    with pytest.raises(StageError, match="labels in a list"):
        LimitLabels("gt", 1).to_mongo(CTX)
    with pytest.raises(StageError, match="limit"):
        LimitLabels("preds", -1)


def test_match_labels_matches_samples_with_a_chosen_label() -> None:
    tagged = {"$gt": [{"$size": {"$filter": {"input": {"$ifNull": ["$$this.tags", []]}, "as": "item",
                                             "cond": {"$in": ["$$item", ["ok"]]}}}}, 0]}
    listed = {"$gt": [{"$size": {"$filter": {"input": {"$ifNull": ["$preds.classifications", []]},
                                             "as": "this", "cond": tagged}}}, 0]}
    single = {"$and": [{"$gt": [{"$ifNull": ["$gt", None]}, None]}, _on("gt", tagged)]}
    assert MatchLabels(tags="ok").to_mongo(CTX) == [{"$match": {"$expr": {"$or": [single, listed]}}}]
    assert MatchLabels(tags="ok", fields="preds", bool=False).to_mongo(CTX) == [
        {"$match": {"$expr": {"$eq": [{"$or": [listed]}, False]}}}]


def test_match_labels_combines_ids_tags_and_filter() -> None:
    (stage,) = MatchLabels(ids=[ID], filter=F("confidence") > 0.5, fields="gt").to_mongo(CTX)
    chosen = {"$and": [{"$in": ["$$this._id", [ObjectId(ID)]]},
                       {"$gt": [{"$ifNull": ["$$this.confidence", None]}, 0.5]}]}
    assert stage == {"$match": {"$expr": {"$or": [
        {"$and": [{"$gt": [{"$ifNull": ["$gt", None]}, None]}, _on("gt", chosen)]}]}}}
    with pytest.raises(StageError, match="not labels"):
        MatchLabels(tags="ok", fields="score").to_mongo(CTX)
    with pytest.raises(StageError, match="label ids"):
        MatchLabels(ids=["nope"])


def test_mongo_passes_checked_stages_through() -> None:
    assert Mongo([{"$limit": 1}]).to_mongo(CTX) == [{"$limit": 1}]
    assert Mongo({"$skip": 2}).to_mongo(CTX) == [{"$skip": 2}]
    assert Mongo([{"$limit": 1}]).partial_fields_in(CTX.schema) == tuple(CTX.schema)
    for bad, message in [([{"$match": {"$where": "1"}}], "refuses"), ([{"$merge": "x"}], "refuses"),
                         ([{"$unionWith": "other"}], "outside"), ("$limit", "list"), ([{}], "list")]:
        with pytest.raises(StageError, match=message):
            Mongo(bad)


def test_concat_unions_the_other_views_pipeline_on_the_same_collection() -> None:
    ctx = CompileContext({"score": "FloatField"}, CTX.schema, "samples.abc")
    stage = Concat([Skip(1), Limit(2)])
    assert stage.to_mongo(ctx) == [{"$unionWith": {"coll": "samples.abc",
                                                   "pipeline": [{"$skip": 1}, {"$limit": 2}]}}]
    # the other view compiles on the dataset's schema, not on this view's
    assert Concat([Mongo({"$match": {"gt.label": "cat"}})]).partial_fields_in(CTX.schema) == tuple(CTX.schema)
    with pytest.raises(StageError, match="view of a dataset"):
        stage.to_mongo(CTX)
    assert Concat([{"_cls": "Limit", "kwargs": {"limit": 2}}]) == Concat([Limit(2)])
