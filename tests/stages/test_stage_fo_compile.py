"""The stages FiftyOne users know as select_by, set_field, select_labels and exclude_labels
compile to exact pipeline fragments given a schema (pure: no database)."""

from __future__ import annotations

import pytest
from bson import ObjectId
from stage_schema import CTX, SCHEMA

from labellens import F
from labellens.errors import FieldNotFoundError, StageError
from labellens.stages import ExcludeLabels, SelectBy, SelectLabels, SetField

ID = str(ObjectId())


def test_select_by_matches_the_values() -> None:
    expected = [{"$match": {"filepath": {"$in": ["/a", "/b"]}}}]
    assert SelectBy("filepath", ["/a", "/b"]).to_mongo(CTX) == expected
    assert SelectBy("score", 0.5).to_mongo(CTX) == [{"$match": {"score": {"$in": [0.5]}}}]
    assert SelectBy("id", [ID]).to_mongo(CTX) == [{"$match": {"_id": {"$in": [ObjectId(ID)]}}}]


def test_select_by_ordered_sorts_by_the_position_of_the_value() -> None:
    position = {"$switch": {"branches": [{"case": {"$eq": ["$filepath", "/b"]}, "then": 0},
                                         {"case": {"$eq": ["$filepath", "/a"]}, "then": 1}], "default": 2}}
    assert SelectBy("filepath", ["/b", "/a"], ordered=True).to_mongo(CTX) == [
        {"$match": {"filepath": {"$in": ["/b", "/a"]}}},
        {"$addFields": {"_select_order": position}},
        {"$sort": {"_select_order": 1, "_id": 1}},
        {"$project": {"_select_order": 0}},
    ]


def test_select_by_ordered_uses_index_of_array_for_long_lists() -> None:
    values = [f"/{i}" for i in range(1001)]
    stage = SelectBy("filepath", values, ordered=True).to_mongo(CTX)
    assert stage[1] == {"$addFields": {"_select_order": {"$indexOfArray": [values, "$filepath"]}}}


@pytest.mark.parametrize(("args", "error"), [
    (("nope", ["a"]), FieldNotFoundError),
    (("filepath", [["a"]]), StageError),
    (("filepath", {"a": 1}), StageError),
    (("id", ["not-an-id"]), StageError),
    (("filepath", ["a"], "yes"), StageError),
])
def test_select_by_refuses_bad_input(args, error) -> None:
    with pytest.raises(error):
        SelectBy(*args).to_mongo(CTX)


def test_set_field_compiles_an_expression_a_dict_or_a_value() -> None:
    doubled = {"$multiply": ["$score", 2]}
    assert SetField("score", F("score") * 2).to_mongo(CTX) == [{"$addFields": {"score": doubled}}]
    absolute = {"$abs": "$score"}
    assert SetField("score", absolute).to_mongo(CTX) == [{"$addFields": {"score": absolute}}]
    assert SetField("score", 0).to_mongo(CTX) == [{"$addFields": {"score": {"$literal": 0}}}]
    assert SetField("score", 0).partial_fields() == ("score",)


@pytest.mark.parametrize(("args", "error"), [
    (("new_field", 1), FieldNotFoundError),  # declare it first
    (("score", F("nope") + 1), FieldNotFoundError),
    (("gt.label", "x"), StageError),
    (("tags", []), StageError),
    (("score", {"$where": "1"}), StageError),
    (("score", object()), StageError),
])
def test_set_field_refuses_bad_input(args, error) -> None:
    with pytest.raises(error):
        SetField(*args).to_mongo(CTX)


def _tagged(label: str, tags: list[str]) -> dict:
    members = {"$filter": {"input": {"$ifNull": [f"{label}.tags", []]}, "as": "item",
                           "cond": {"$in": ["$$item", tags]}}}
    return {"$gt": [{"$size": members}, 0]}


def test_select_labels_of_a_classification_field() -> None:
    assert SelectLabels(tags="ok", fields="gt").to_mongo(CTX) == [
        {"$addFields": {"gt": {"$cond": [_tagged("$gt", ["ok"]), "$gt", None]}}},
        {"$match": {"gt": {"$ne": None}}},
        {"$project": {"preds": 0}},  # the other label fields are left out
    ]
    assert SelectLabels(tags="ok", fields="gt").output_schema(SCHEMA).keys() == SCHEMA.keys() - {"preds"}


def test_exclude_labels_by_id_in_every_label_field() -> None:
    pipeline = ExcludeLabels(ids=[ID], omit_empty=False).to_mongo(CTX)
    dropped = {"$eq": [{"$in": ["$gt._id", [ObjectId(ID)]]}, False]}
    assert pipeline[0] == {"$addFields": {"gt": {"$cond": [dropped, "$gt", None]}}}
    listed = {"$eq": [{"$in": ["$$this._id", [ObjectId(ID)]]}, False]}
    assert listed in _conditions(pipeline[1])
    assert len(pipeline) == 2  # no $match without omit_empty
    assert ExcludeLabels(ids=[ID]).partial_fields_in(SCHEMA) == ("gt", "preds")


def test_select_labels_with_ids_and_tags_needs_both() -> None:
    stage = SelectLabels(ids=[ID], tags="ok", fields="gt").to_mongo(CTX)
    both = {"$and": [{"$in": ["$gt._id", [ObjectId(ID)]]}, _tagged("$gt", ["ok"])]}
    assert stage[0] == {"$addFields": {"gt": {"$cond": [both, "$gt", None]}}}


@pytest.mark.parametrize("kwargs", [{"fields": "score"}, {"fields": "nope"}, {"ids": ["x"]}, {"tags": 3},
                                    {"omit_empty": "no"}])
def test_label_stages_refuse_bad_input(kwargs) -> None:
    with pytest.raises((StageError, FieldNotFoundError)):
        SelectLabels(**kwargs).to_mongo(CTX)


def _conditions(node: object) -> list:
    """Every ``cond`` of a ``$filter`` inside a compiled fragment."""
    found = []
    if isinstance(node, dict):
        if "$filter" in node and "cond" in node["$filter"]:
            found.append(node["$filter"]["cond"])
        for value in node.values():
            found += _conditions(value)
    elif isinstance(node, list):
        for value in node:
            found += _conditions(value)
    return found
