"""Saved views, seeds across processes, indexes and query plans."""

from __future__ import annotations

import json

import pytest

import labellens as ll
from labellens import F
from labellens.errors import (
    BrainRunNotFoundError,
    DatasetNotFoundError,
    FieldNotFoundError,
    IndexNotFoundError,
    NotFoundError,
    RunNotFoundError,
    SavedViewNotFoundError,
    ValidationError,
)


def test_saved_views_round_trip(small) -> None:
    dataset = small.dataset
    view = dataset.match_tags("odd").sort_by("n", reverse=True).take(3, seed=2)
    dataset.save_view("top", view)
    dataset.save_view("all", dataset)
    assert dataset.list_saved_views() == ["all", "top"]
    loaded = dataset.load_saved_view("top")
    assert loaded == view and loaded.values("id") == view.values("id")
    assert len(dataset.load_saved_view("all")) == 10
    with pytest.raises(ValidationError, match="overwrite"):
        dataset.save_view("top", dataset.limit(1))
    dataset.save_view("top", dataset.limit(1), overwrite=True)
    assert len(dataset.load_saved_view("top")) == 1
    dataset.delete_saved_view("top")
    assert dataset.list_saved_views() == ["all"]
    with pytest.raises(SavedViewNotFoundError, match="no saved view"):
        dataset.load_saved_view("top")


def test_saved_views_and_seeds_hold_across_processes(real_mongod, small_builder, python_runner) -> None:
    dataset = small_builder("views-across-processes", persistent=True).dataset
    view = dataset.match(F("score") > 0.2).take(4, seed=123)
    dataset.save_view("picked", view)
    code = (
        "import json, labellens as ll\n"
        "d = ll.load_dataset('views-across-processes')\n"
        "print(json.dumps([d.load_saved_view('picked').values('id'),"
        " d.match(ll.F('score') > 0.2).take(4, seed=123).values('id'),"
        " d.take(4, seed=9).values('id')]))\n"
    )
    saved, reseeded, other = json.loads(python_runner(code, real_mongod))
    assert saved == reseeded == view.values("id")
    assert other == dataset.take(4, seed=9).values("id")


def test_indexes(small) -> None:
    dataset = small.dataset
    name = dataset.create_index("score")
    assert name in dataset.list_indexes() and "_id_" in dataset.list_indexes()
    label_index = dataset.create_index("gt.label")
    assert label_index in dataset.list_indexes()
    assert dataset.sort_by("score", reverse=True).values("score")[:2] == [0.9, 0.8]
    assert dataset.indexed_fields() == ["gt.label", "id", "score"]
    dataset.drop_index(name)
    assert name not in dataset.list_indexes() and dataset.indexed_fields() == ["gt.label", "id"]
    with pytest.raises(IndexNotFoundError, match="no index"):
        dataset.drop_index(name)
    with pytest.raises(IndexNotFoundError, match="_id_"):
        dataset.drop_index("_id_")  # the id index is the collection's own
    with pytest.raises(FieldNotFoundError, match="nope"):
        dataset.create_index("nope")


def test_each_missing_thing_raises_its_own_not_found_error(small) -> None:
    """One class per condition, all NotFoundErrors (the App answers 404 for each)."""
    dataset = small.dataset
    dataset.register_brain_run("scored", {"method": "manual"}, ["score"])
    scores = dataset.values("score")
    cases = [(lambda: dataset.load_saved_view("nope"), SavedViewNotFoundError),
             (lambda: dataset.get_brain_info("nope"), BrainRunNotFoundError),
             (lambda: dataset.delete_brain_run("nope"), BrainRunNotFoundError),
             (lambda: dataset.get_run("evaluation", "nope"), RunNotFoundError),
             (lambda: dataset.drop_index("nope"), IndexNotFoundError)]
    for call, error in cases:
        with pytest.raises(error, match="'nope'") as raised:
            call()
        assert isinstance(raised.value, NotFoundError)
        assert "scored" in str(raised.value) or error is not BrainRunNotFoundError  # names what exists
    assert dataset.list_brain_runs() == ["scored"] and dataset.values("score") == scores  # nothing deleted


def _plan_stages(plan: object) -> list[str]:
    """Every ``stage`` named anywhere in an explain document."""
    found: list[str] = []
    if isinstance(plan, dict):
        if isinstance(plan.get("stage"), str):
            found.append(plan["stage"])
        for value in plan.values():
            found += _plan_stages(value)
    elif isinstance(plan, list):
        for value in plan:
            found += _plan_stages(value)
    return found


def test_sorting_an_indexed_field_uses_the_index(small, backend) -> None:
    if backend == "mongomock":
        pytest.skip("mongomock has no query planner (explain)")
    view = small.dataset.sort_by("score", reverse=True).limit(100)
    assert "IXSCAN" not in _plan_stages(view.explain())
    small.dataset.create_index("score")
    plan = _plan_stages(view.explain())
    assert "IXSCAN" in plan and "SORT" not in plan
    tagged = small.dataset.match_tags("odd").sort_by("score").limit(5)
    assert tagged.values("score") == [None, 0.1, 0.3, 0.7, 0.8]


def test_views_see_fields_another_dataset_object_added(small) -> None:
    """Views compile against the schema last read, and read it again for a field they do not know."""
    early = small.dataset.exists("filepath")  # compiled before the field existed
    other = ll.load_dataset(small.dataset.name)
    other.set_values("late", list(range(10)))
    stale = small.dataset
    assert stale.sort_by("late", reverse=True).values("late")[:2] == [9, 8]
    assert early.sort_by("late", reverse=True).limit(2).values("late") == [9, 8]
    assert [s.late for s in early.match(F("late") > 7)] == [8, 9]
    assert stale.match(F("late") > 6).values("late") == [7, 8, 9]
    assert stale.mean("late") == 4.5
    assert "late" in stale.get_field_schema()
    with pytest.raises(FieldNotFoundError, match="'later'"):
        stale.values("later")


def test_field_schemas_handed_out_are_the_callers_own(small) -> None:
    view = small.dataset.sort_by("score").limit(3)
    for schema in (view.get_field_schema(), small.dataset.get_field_schema()):
        schema["invented"] = "FloatField"
        schema.pop("score")
    assert "invented" not in view.get_field_schema() and "score" in view.get_field_schema()
    assert "invented" not in small.dataset.get_field_schema()
    with pytest.raises(FieldNotFoundError, match="invented"):
        view.values("invented")
    assert len(view.values("score")) == 3


def test_reading_a_view_of_a_deleted_dataset_raises(small) -> None:
    view = small.dataset.match_tags("odd")
    ll.delete_dataset(small.dataset.name)
    with pytest.raises(DatasetNotFoundError, match=small.dataset.name):
        view.values("id")
    with pytest.raises(DatasetNotFoundError):
        view.count_values("tags")
