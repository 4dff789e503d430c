"""Stages compile to exact pipeline fragments given a schema (pure: no database)."""

from __future__ import annotations

import pytest
from bson import ObjectId
from stage_schema import CTX, SCHEMA

from labellens import F
from labellens.errors import FieldNotFoundError, StageError
from labellens.stages import (
    Exclude,
    ExcludeFields,
    Exists,
    FilterLabels,
    Limit,
    Match,
    MatchTags,
    Select,
    SelectFields,
    Shuffle,
    Skip,
    SortBy,
    Take,
)

IDS = [str(ObjectId()) for _ in range(3)]
OIDS = [ObjectId(i) for i in IDS]


def _random_order(seed: int) -> list[dict]:
    key = {"$mod": [{"$multiply": ["$_rand", seed + 1]}, 1]}
    return [{"$addFields": {"_rand_key": key}}, {"$sort": {"_rand_key": 1, "_id": 1}}]


@pytest.mark.parametrize(("stage", "expected"), [
    (MatchTags("a"), {"tags": {"$in": ["a"]}}),
    (MatchTags(["a", "b"], all=True), {"tags": {"$all": ["a", "b"]}}),
    (MatchTags(["a", "b"], bool=False), {"tags": {"$nin": ["a", "b"]}}),
    (MatchTags(["a", "b"], bool=False, all=True), {"tags": {"$not": {"$all": ["a", "b"]}}}),
])
def test_match_tags_branches(stage, expected) -> None:
    assert stage.to_mongo(CTX) == [{"$match": expected}]


def test_match_expression_and_dict() -> None:
    assert Match(F("score") > 0.5).to_mongo(CTX) == [{"$match": {"$expr": {"$gt": [
        {"$ifNull": ["$score", None]}, 0.5]}}}]
    query = {"score": {"$gt": 0.5}, "tags": "a"}
    assert Match(query).to_mongo(CTX) == [{"$match": query}]


@pytest.mark.parametrize("query", [
    {"$where": "this.x > 1"},
    {"$expr": {"$function": {"body": "return 1", "args": [], "lang": "js"}}},
    {"$and": [{"x": 1}, {"$where": "1"}]},
    {"$or": [{"a": {"$elemMatch": {"$expr": {"$accumulator": {}}}}}]},
    {"$expr": {"$gt": [{"$let": {"vars": {}, "in": {"$function": {}}}}, 1]}},
])
def test_match_refuses_server_side_javascript(query) -> None:
    with pytest.raises(StageError, match="refuses"):
        Match(query)


def test_other_stages_refuse_javascript_too() -> None:
    with pytest.raises(StageError, match="refuses"):
        SortBy({"$function": {}})
    with pytest.raises(StageError, match="refuses"):
        FilterLabels("preds", {"$gt": [{"$function": {}}, 1]})


def test_exists() -> None:
    assert Exists("score").to_mongo(CTX) == [{"$match": {"score": {"$ne": None}}}]
    assert Exists("score", bool=False).to_mongo(CTX) == [{"$match": {"score": None}}]
    assert Exists("gt.id").to_mongo(CTX) == [{"$match": {"gt._id": {"$ne": None}}}]


def test_sort_by_field_and_expression() -> None:
    assert SortBy("score").to_mongo(CTX) == [{"$sort": {"score": 1, "_id": 1}}]
    assert SortBy("gt.confidence", reverse=True).to_mongo(CTX) == [
        {"$sort": {"gt.confidence": -1, "_id": -1}}]
    assert SortBy("id").to_mongo(CTX) == [{"$sort": {"_id": 1}}]
    assert SortBy(F("gt.confidence") * -1, reverse=True).to_mongo(CTX) == [
        {"$addFields": {"_sort_key": {"$multiply": ["$gt.confidence", -1]}}},
        {"$sort": {"_sort_key": -1, "_id": -1}},
        {"$project": {"_sort_key": 0}},
    ]


def test_take_shuffle_limit_skip() -> None:
    assert Take(5, seed=7).to_mongo(CTX) == [*_random_order(7), {"$limit": 5},
                                             {"$project": {"_rand_key": 0}}]
    assert Take(0, seed=7).to_mongo(CTX) == [{"$match": {"_id": None}}]
    assert Shuffle(seed=3).to_mongo(CTX) == [*_random_order(3), {"$project": {"_rand_key": 0}}]
    assert Limit(4).to_mongo(CTX) == [{"$limit": 4}]
    assert Limit(0).to_mongo(CTX) == [{"$match": {"_id": None}}]
    assert Skip(2).to_mongo(CTX) == [{"$skip": 2}]
    assert Skip(0).to_mongo(CTX) == []


def test_random_stages_fix_their_seed_when_made() -> None:
    take = Take(10)
    assert isinstance(take.seed, int)
    assert take.to_mongo(CTX) == take.to_mongo(CTX)
    assert isinstance(Shuffle().seed, int)


def test_select_and_exclude() -> None:
    assert Select(IDS).to_mongo(CTX) == [{"$match": {"_id": {"$in": OIDS}}}]
    assert Select(IDS[0]).to_mongo(CTX) == [{"$match": {"_id": {"$in": OIDS[:1]}}}]
    assert Select(OIDS[::-1], ordered=True).to_mongo(CTX) == [
        {"$match": {"_id": {"$in": OIDS[::-1]}}},
        {"$addFields": {"_select_order": {"$indexOfArray": [OIDS[::-1], "$_id"]}}},
        {"$sort": {"_select_order": 1}},
        {"$project": {"_select_order": 0}},
    ]
    assert Exclude(IDS[1:]).to_mongo(CTX) == [{"$match": {"_id": {"$nin": OIDS[1:]}}}]


def test_select_and_exclude_fields() -> None:
    assert SelectFields("gt").to_mongo(CTX) == [
        {"$project": {"filepath": 1, "tags": 1, "metadata": 1, "_rand": 1, "gt": 1}}]
    assert SelectFields(["gt.label", "score"]).to_mongo(CTX) == [
        {"$project": {"filepath": 1, "tags": 1, "metadata": 1, "_rand": 1, "gt.label": 1, "score": 1}}]
    assert ExcludeFields(["gt", "score"]).to_mongo(CTX) == [{"$project": {"gt": 0, "score": 0}}]


def test_field_stages_change_the_schema() -> None:
    assert list(SelectFields("gt").output_schema(SCHEMA)) == ["filepath", "tags", "metadata", "gt"]
    assert "gt" not in ExcludeFields("gt").output_schema(SCHEMA)
    assert SelectFields("gt").partial_fields() == ()
    assert SelectFields("gt.label").partial_fields() == ("gt",)
    assert ExcludeFields("gt.confidence").partial_fields() == ("gt",)
    assert FilterLabels("preds", F("label") == "cat").partial_fields() == ("preds",)


def test_filter_labels() -> None:
    kept = {"$filter": {"input": {"$ifNull": ["$preds.classifications", []]}, "as": "this",
                        "cond": {"$eq": [{"$ifNull": ["$$this.label", None]}, "cat"]}}}
    entry = {"$cond": [{"$eq": ["$$entry.k", "classifications"]}, {"k": "classifications", "v": kept},
                       "$$entry"]}
    rebuilt = {"$arrayToObject": {"$map": {"input": {"$objectToArray": "$preds"}, "as": "entry",
                                           "in": entry}}}
    update = {"$addFields": {"preds": {"$cond": [{"$gt": [{"$ifNull": ["$preds", None]}, None]},
                                                 rebuilt, "$preds"]}}}
    has_labels = {"$match": {"preds.classifications.0": {"$exists": True}}}
    stage = FilterLabels("preds", F("label") == "cat")
    assert stage.to_mongo(CTX) == [has_labels, update, has_labels]
    loose = FilterLabels("preds", F("label") == "cat", only_matches=False)
    assert loose.to_mongo(CTX) == [update]
    with pytest.raises(StageError, match="Classifications"):
        FilterLabels("gt", F("label") == "cat").to_mongo(CTX)


@pytest.mark.parametrize("stage", [
    SortBy("nope"), Exists("nope"), Exists("nope.sub"), SelectFields("nope"), ExcludeFields("nope"),
    FilterLabels("nope", F("label") == "a"),
])
def test_unknown_fields_name_the_field_and_the_schema(stage) -> None:
    with pytest.raises(FieldNotFoundError, match="'nope'.*filepath, tags, metadata, gt, preds, score"):
        stage.to_mongo(CTX)


@pytest.mark.parametrize("build", [
    lambda: Take(-1), lambda: Take(1.5), lambda: Take(True), lambda: Take("3"),
    lambda: Take(3, seed=1.5), lambda: Take(3, seed="1"), lambda: Take(3, seed=-1),
    lambda: Shuffle(seed=2.0), lambda: Limit(-1), lambda: Skip(-3), lambda: Limit(None),
    lambda: MatchTags([1, 2]), lambda: MatchTags(["a", None]), lambda: MatchTags(""), lambda: MatchTags(5),
    lambda: MatchTags("a", bool="yes"), lambda: MatchTags("a", all=1),
    lambda: Match(5), lambda: Match("score > 1"), lambda: Exists(["a", "b"]), lambda: Exists(""),
    lambda: Exists("a", bool=None), lambda: SortBy(""), lambda: SortBy(3), lambda: SortBy("a", reverse=1),
    lambda: Select(["not-an-id"]), lambda: Select(5), lambda: Exclude([IDS[0], "xyz"]),
    lambda: Select(IDS, ordered="no"), lambda: SelectFields([]), lambda: SelectFields([3]),
    lambda: ExcludeFields("filepath"), lambda: ExcludeFields(["id"]),
    lambda: FilterLabels(["a"], F("label") == "x"), lambda: FilterLabels("preds", "label == x"),
    lambda: FilterLabels("preds", F("label") == "x", only_matches=None),
])
def test_invalid_parameters_raise_when_the_stage_is_made(build) -> None:
    with pytest.raises(StageError):
        build()


def test_stages_are_immutable_and_print_their_parameters() -> None:
    stage = MatchTags(["processed"])
    with pytest.raises(AttributeError):
        stage.tags = ("x",)  # type: ignore[misc]
    assert repr(stage) == "MatchTags(tags=['processed'])"
    assert repr(SortBy("mistakenness", reverse=True)) == "SortBy(field_or_expr='mistakenness', reverse=True)"
    assert repr(Take(10, seed=5)) == "Take(size=10, seed=5)"
    assert repr(Limit(3)) == "Limit(limit=3)"
