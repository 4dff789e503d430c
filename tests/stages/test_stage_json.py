"""Every stage survives a JSON round trip through the registry; malformed JSON is refused."""

from __future__ import annotations

import json

import pytest
from bson import ObjectId

from labellens import F
from labellens.errors import StageError
from labellens.stages import (
    STAGES,
    CompileContext,
    Concat,
    Exclude,
    ExcludeFields,
    ExcludeLabels,
    Exists,
    FilterField,
    FilterLabels,
    Limit,
    LimitLabels,
    Match,
    MatchLabels,
    MatchTags,
    Mongo,
    Select,
    SelectBy,
    SelectFields,
    SelectLabels,
    SetField,
    Shard,
    Shuffle,
    Skip,
    SortBy,
    Take,
    stage_from_json,
    stage_to_json,
    stages_from_json,
)

SCHEMA = {"filepath": "StringField", "tags": "ListField(StringField)",
          "metadata": "EmbeddedDocumentField(ImageMetadata)", "score": "FloatField",
          "preds": "EmbeddedDocumentField(Classifications)"}
CTX = CompileContext(SCHEMA, SCHEMA, "samples.x")
IDS = [str(ObjectId()) for _ in range(2)]

EVERY_STAGE = [
    MatchTags(["a", "b"], bool=False, all=True),
    Match(F("score") > 0.5),
    Match({"score": {"$gt": 0.5}}),
    Exists("score", bool=False),
    SortBy("score", reverse=True),
    SortBy(abs(F("score") - 0.5)),
    Take(3, seed=11),
    Take(3),
    Shuffle(seed=2),
    Limit(7),
    Skip(1),
    Select(IDS, ordered=True),
    Exclude(IDS),
    SelectFields(["score", "preds"]),
    ExcludeFields("score"),
    FilterLabels("preds", F("confidence") > 0.2, only_matches=False),
    Shard(1, 3),
    SelectBy("filepath", ["/a.jpg", "/b.jpg"], ordered=True),
    SelectBy("id", IDS),
    SetField("score", F("score") * 2),
    SetField("score", 0.5),
    SelectLabels(ids=IDS, tags="ok", fields="preds", omit_empty=False),
    ExcludeLabels(tags=["bad"]),
    FilterField("score", F() > 0.5, only_matches=False),
    LimitLabels("preds", 2),
    MatchLabels(ids=IDS, tags="ok", filter=F("confidence") > 0.5, fields="preds", bool=False),
    Mongo([{"$limit": 1}, {"$match": {"score": {"$gt": 0.5}}}]),
]
EVERY_STAGE.append(Concat(EVERY_STAGE[:4]))


def test_every_registered_stage_is_covered() -> None:
    assert {type(s).__name__ for s in EVERY_STAGE} == set(STAGES)


@pytest.mark.parametrize("stage", EVERY_STAGE, ids=lambda s: type(s).__name__)
def test_round_trip(stage) -> None:
    data = stage_to_json(stage)
    assert data["_cls"] == type(stage).__name__
    rebuilt = stage_from_json(json.loads(json.dumps(data)))
    assert type(rebuilt) is type(stage)
    assert rebuilt.to_mongo(CTX) == stage.to_mongo(CTX)
    assert stage_to_json(rebuilt) == data
    assert repr(rebuilt) == repr(stage)


def test_stages_from_json_rebuilds_a_list() -> None:
    data = [stage_to_json(s) for s in EVERY_STAGE]
    assert [stage_to_json(s) for s in stages_from_json(data)] == data


@pytest.mark.parametrize(("data", "message"), [
    ({"_cls": "DropDatabase", "kwargs": {}}, "unknown stage"),
    ({"_cls": "labellens.stages.Limit", "kwargs": {"limit": 1}}, "unknown stage"),
    ({"_cls": None, "kwargs": {}}, "unknown stage"),
    ({"_cls": "Limit", "kwargs": {"limit": 1, "evil": True}}, "invalid parameters"),
    ({"_cls": "Limit", "kwargs": {}}, "invalid parameters"),
    ({"_cls": "Limit", "kwargs": [1]}, "must be an object"),
    ({"_cls": "Limit", "kwargs": {"limit": -5}}, "limit must be >= 0"),
    ({"_cls": "Take", "kwargs": {"size": 5, "seed": "x"}}, "seed must be an int"),
    ({"_cls": "MatchTags", "kwargs": {"tags": [1]}}, "tags must be"),
    ({"_cls": "Match", "kwargs": {"filter": {"$where": "1"}}}, "refuses"),
    ({"_cls": "Limit", "kwargs": {"limit": 1}, "extra": 1}, "_cls"),
    ({"_cls": "Mongo", "kwargs": {"pipeline": [{"$out": "x"}]}}, "refuses"),
    ({"_cls": "Mongo", "kwargs": {"pipeline": [{"$lookup": {"from": "x"}}]}}, "outside this dataset"),
    ({"_cls": "Mongo", "kwargs": {"pipeline": [{"$limit": 1, "$skip": 1}]}}, "list of aggregation stages"),
    (["Limit"], "_cls"),
])
def test_malformed_json_raises_stage_error(data, message) -> None:
    with pytest.raises(StageError, match=message):
        stage_from_json(data)


def test_stages_from_json_needs_a_list() -> None:
    with pytest.raises(StageError):
        stages_from_json("Limit")
    with pytest.raises(StageError):
        stages_from_json({"_cls": "Limit", "kwargs": {"limit": 1}})
