"""Bad input, property-based: only labellens errors, no server-side JavaScript, no writes.

Stage JSON and sidebar filters are generated as the App server would receive them
from a browser; field names and values as a careless script would pass them. The
database is compared before and after every call with the server's ``dbHash``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mongo_procs import use_database
from starlette.testclient import TestClient

import labellens as ll
from labellens import db
from labellens.errors import LabelLensError
from labellens.expr.compile import FORBIDDEN_OPERATORS
from labellens.server.app import create_app
from labellens.server.query import build_view
from labellens.stages.registry import STAGES

JS_OPERATORS = ("$where", "$function", "$accumulator")
OPERATORS = [*FORBIDDEN_OPERATORS, "$expr", "$gt", "$gte", "$lt", "$in", "$nin", "$ne", "$eq", "$regex",
             "$exists", "$size", "$type", "$not", "$and", "$or", "$nor", "$elemMatch", "$all", "$mod",
             "$text", "$jsonSchema", "$sum", "$add", "$divide", "$literal", "$lookup", "$foo", "$",
             "$$ROOT", "$ground_truth.label", "$function.body"]
FIELDS = ["ground_truth", "ground_truth.label", "ground_truth.confidence", "predictions",
          "predictions.classifications", "mistakenness", "tags", "filepath", "id", "_id", "_rand",
          "metadata.width", "missing", "", "a.b.c"]
KWARGS = sorted({"tags", "bool", "all", "filter", "field", "sample_ids", "ordered", "field_or_expr",
                 "reverse", "size", "seed", "limit", "skip", "field_names", "only_matches", "bogus"})
SETTINGS = settings(max_examples=120, deadline=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))

scalars = (st.none() | st.booleans() | st.integers(-2**70, 2**70)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12)
           | st.sampled_from(OPERATORS) | st.sampled_from(FIELDS) | st.just("5f0000000000000000000000"))
keys = st.sampled_from(OPERATORS) | st.sampled_from(FIELDS) | st.text(max_size=8)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(keys, inner, max_size=3), max_leaves=12)
stage_json = st.fixed_dictionaries(
    {"_cls": st.sampled_from([*STAGES, "Bogus", "$where"])},
    optional={"kwargs": st.dictionaries(st.sampled_from(KWARGS), json_values, max_size=4)})
stage_lists = st.lists(stage_json, max_size=3) | json_values
filter_bodies = st.fixed_dictionaries({}, optional={
    "view": stage_lists,
    "filters": st.fixed_dictionaries({}, optional={
        "tags": json_values, "ranges": st.dictionaries(keys, json_values, max_size=2),
        "labels": st.dictionaries(keys, json_values, max_size=2), "sort": json_values,
        "bogus": json_values}) | json_values,
    "offset": json_values, "limit": json_values})


def contains_key(value: Any, names: tuple[str, ...] | frozenset[str]) -> bool:
    if isinstance(value, dict):
        return any(k in names or contains_key(v, names) for k, v in value.items())
    if isinstance(value, list):
        return any(contains_key(v, names) for v in value)
    return False


@pytest.fixture(scope="module")
def dataset(mongod_uri: str) -> Iterator[ll.Dataset]:
    """A small dataset on the real mongod, with the database profiler recording every command."""
    name = "bad_input_props"
    with pytest.MonkeyPatch.context() as monkeypatch:
        use_database(monkeypatch, mongod_uri, name)
        database = db.get_database()
        database.command("profile", 0)
        database.drop_collection("system.profile")
        database.create_collection("system.profile", capped=True, size=64 * 2**20)
        database.command("profile", 2)
        dataset = ll.Dataset("props", persistent=True)
        dataset.add_samples(
            ll.Sample(filepath=f"/img/{i}.png", tags=["train"] if i % 2 else ["test"],
                      ground_truth=ll.Classification(label=["cat", "dog"][i % 2], confidence=0.5),
                      predictions=ll.Classifications(classifications=[ll.Classification(label="cat")]),
                      mistakenness=i / 10)
            for i in range(10))
        yield dataset
        database.command("profile", 0)
        db.get_client().drop_database(name)
        db.close_clients()


def snapshot() -> dict[str, str]:
    """The server's hash of every collection of the database (any write changes it)."""
    hashes = db.get_database().command("dbHash")["collections"]
    return {name: value for name, value in hashes.items() if not name.startswith("system.")}


def run_view(dataset: ll.Dataset, stages: Any) -> None:
    view = dataset.view_from_json(stages)
    view.values("id")
    view.count()
    view.count_values("tags")


@given(stages=stage_lists)
@SETTINGS
def test_stage_json_never_crashes_runs_javascript_or_writes(dataset: ll.Dataset, stages: Any) -> None:
    before = snapshot()
    try:
        run_view(dataset, stages)
    except LabelLensError:
        pass
    else:
        assert not contains_key(stages, FORBIDDEN_OPERATORS), "a forbidden operator was accepted"
    assert snapshot() == before


@given(body=filter_bodies)
@SETTINGS
def test_app_view_bodies_never_crash_or_write(dataset: ll.Dataset, body: dict[str, Any]) -> None:
    before = snapshot()
    try:
        view = build_view(dataset, body)
        view.values("id")
    except LabelLensError:
        pass
    assert snapshot() == before


@given(body=filter_bodies)
@settings(SETTINGS, max_examples=40)
def test_app_answers_bad_bodies_without_500(dataset: ll.Dataset, body: dict[str, Any]) -> None:
    """Sent as a browser or script would (Python's json also writes NaN and Infinity)."""
    before = snapshot()
    with TestClient(create_app(), base_url="http://127.0.0.1") as client:
        for path in ("samples", "count", "summary"):
            response = client.post(f"/api/datasets/{dataset.name}/{path}", content=json.dumps(body),
                                   headers={"content-type": "application/json"})
            assert response.status_code in (200, 400, 404), response.text
            assert "Traceback" not in response.text
    assert snapshot() == before


def test_no_javascript_reached_the_server(dataset: ll.Dataset) -> None:
    """Every command the tests above sent, as the profiler recorded them: none carries JavaScript."""
    for probe in ([{"_cls": "Match", "kwargs": {"filter": {"$where": "sleep(100) || true"}}}],
                  [{"_cls": "Match", "kwargs": {"filter": {"$expr": {"$function": {
                      "body": "function() { return true }", "args": [], "lang": "js"}}}}}],
                  [{"_cls": "SortBy", "kwargs": {"field_or_expr": {"$accumulator": {}}}}]):
        with pytest.raises(LabelLensError, match="refuses"):
            run_view(dataset, probe)
    profile = db.get_database()["system.profile"]
    commands = [doc.get("command", {}) for doc in profile.find({}, {"command": 1})]
    assert len(commands) > 100
    assert not any(contains_key(command, JS_OPERATORS) for command in commands)


names = st.sampled_from(["score", "$score", "a.b", "", "_private", "id", "filepath", "tags", "metadata",
                         "ground_truth", "nul\x00l", "ünïcode", "x" * 200]) | st.text(max_size=6)
storable = (st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.floats() | st.text(max_size=8)
            | st.datetimes() | st.just(dt.datetime(2024, 1, 1, tzinfo=dt.UTC)) | st.just(np.float32(1.5))
            | st.just(np.array([1, 2])) | st.just(ll.Classification(label="cat")))
unstorable = (st.binary(max_size=8) | st.just({1, 2}) | st.just(1j) | st.just(object())
              | st.just(ll.Sample(filepath="/x.png")))
values = st.recursive(storable | unstorable, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=6).filter(lambda k: "\x00" not in k),
                                        storable, max_size=2), max_leaves=6)


def write(dataset: ll.Dataset, how: str, name: str, value: Any) -> None:
    if how == "add_samples":
        dataset.add_samples([ll.Sample(filepath="/img/new.png", **{name: value})])
        dataset.delete_samples(dataset.match({"filepath": "/img/new.png"}))
    elif how == "save":
        sample = dataset.first()
        sample[name] = value
        sample.save()
    else:
        dataset.set_values(name, [value] * len(dataset))


@given(name=names, value=values, how=st.sampled_from(["add_samples", "save", "set_values"]))
@settings(SETTINGS, max_examples=150)
def test_bad_field_names_and_values_leave_the_database_unchanged(dataset: ll.Dataset, name: str,
                                                                 value: Any, how: str) -> None:
    before = snapshot()
    try:
        write(dataset, how, name, value)
    except LabelLensError as exc:
        assert str(exc)
        assert snapshot() == before, f"{how}({name!r}, {value!r}) failed but changed the database"


UNENCODABLE = {
    "int beyond int64": 2**70,
    "uint64 beyond int64": np.uint64(2**64 - 1),
    "int beyond int64 in a list": [2**70],
    "int beyond int64 in a dict": {"a": 2**70},
    "dict with a non-string key": {1: 2},
    "dict holding a set": {"a": {1, 2}},
    "dict key with a NUL byte": {"a\x00": 1},
    "numpy array of objects": np.array(["a", None], dtype=object),
}


@pytest.mark.parametrize("how", ["add_samples", "save", "set_values"])
@pytest.mark.parametrize("value", list(UNENCODABLE.values()), ids=list(UNENCODABLE))
def test_unencodable_values_are_refused_before_any_write(dataset: ll.Dataset, value: Any, how: str,
                                                         request: pytest.FixtureRequest) -> None:
    field = f"unencodable{abs(hash(request.node.callspec.id))}"
    before = snapshot()
    with pytest.raises(LabelLensError):
        write(dataset, how, field, value)
    assert snapshot() == before
