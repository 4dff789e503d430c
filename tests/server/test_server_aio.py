"""The async data access the server reads through, on mongomock (thread adapter) and a real mongod."""

from __future__ import annotations

import asyncio
import math

import numpy as np
import pytest
from bson import ObjectId

import labellens as ll
from labellens import F
from labellens.db.aio import MockData, MongoData, open_data
from labellens.errors import ValidationError


def run(coroutine_function):
    """Run an async test body on a fresh loop, closing the data access at the end."""
    async def main():
        data = open_data()
        try:
            return await coroutine_function(data)
        finally:
            await data.close()
    return asyncio.run(main())


def test_backend_picks_the_right_implementation(backend):
    expected = MockData if backend == "mongomock" else MongoData
    assert isinstance(open_data(), expected)


def test_run_calls_the_sync_api_in_a_worker_thread_with_the_time_limit(backend):
    import threading

    from labellens.db import timeouts

    def where():
        return threading.current_thread() is threading.main_thread(), timeouts.resolve(None)

    async def body(data):
        with timeouts.limited(3.0, "hint"):
            return await data.run(where)

    on_main, limit = run(body)
    assert not on_main and limit == timeouts.Limit(3.0, "hint")


@pytest.mark.parametrize("indexed", [False, True])
def test_sample_tags_count_each_sample_once_per_tag_with_or_without_the_index(backend, indexed):
    dataset = ll.Dataset()
    dataset.add_samples([ll.Sample("/a.png", tags=["x", "x", "y"]), ll.Sample("/b.png", tags=["x"]),
                         ll.Sample("/c.png", tags=[]), ll.Sample("/d.png", score=1.0)])
    if indexed:
        dataset.create_index("tags")
    coll = dataset.collection_name
    views = {"all": dataset, "sorted": dataset.sort_by("filepath", reverse=True),
             "filtered": dataset.match_tags("y")}

    async def body(data):
        return {name: await data.sample_tags(coll, view.pipeline())
                for name, view in views.items()}

    counts = run(body)
    assert counts["all"] == counts["sorted"] == {"x": 2, "y": 1}
    assert counts["filtered"] == {"x": 1, "y": 1}
    assert counts["all"] == {tag: len(dataset.match_tags(tag)) for tag in ("x", "y")}


@pytest.mark.parametrize("indexed", [False, True])
@pytest.mark.parametrize("low, high, bins", [(0.0, 1.0, 20), (0.1, 0.7, 7), (-3.0, 2.5, 11), (0.3, 0.3, 4)])
def test_histogram_from_the_index_equals_the_pipeline_at_every_edge(backend, indexed, low, high, bins):
    width = (high - low) / bins if high > low else 1.0
    edges = [low + i * width for i in range(bins + 1)]
    values = [low, high, low - 1e-9, high + 1e-9, 7, -7, 0, 1, *edges,
              *(math.nextafter(e, -math.inf) for e in edges), *(math.nextafter(e, math.inf) for e in edges),
              *np.random.default_rng(bins).uniform(low - 1, high + 1, 200).tolist()]
    dataset = ll.Dataset()
    dataset.add_samples([ll.Sample(f"/{i}.png", score=v) for i, v in enumerate(values)]
                        + [ll.Sample("/none.png", score=None), ll.Sample("/lacking.png")])
    if indexed:
        dataset.create_index("score")

    async def body(data):
        return await data.histogram(dataset.collection_name, [], "score", low=low, high=high, bins=bins)

    assert run(body) == dataset.histogram_values("score", bins=bins, range=(low, high))


def test_page_count_and_ids_follow_the_view(dataset):
    view = dataset.match(F("mistakenness") > 0.3).sort_by("mistakenness", reverse=True)
    coll, pipeline = dataset.collection_name, view.pipeline()

    async def body(data):
        return (await data.count(coll, pipeline), await data.ids(coll, pipeline),
                await data.page(coll, pipeline, offset=2, limit=3, fields=["_id", "mistakenness"]))

    count, ids, page = run(body)
    expected = view.values("id")
    assert count == len(expected)
    assert [str(i) for i in ids] == expected
    assert [str(d["_id"]) for d in page] == expected[2:5]
    assert all(set(d) == {"_id", "mistakenness"} for d in page)


def test_grouping_helpers(dataset):
    coll = dataset.collection_name

    async def body(data):
        facts = await data.summarize(coll, [], value_paths=["tags", "ground_truth.label"],
                                     unwind=[True, False])
        return (facts["values"]["tags"], facts["values"]["ground_truth.label"],
                await data.bounds(coll, [], ["mistakenness"]),
                await data.bounds(coll, dataset.match_tags("nothing").pipeline(), ["mistakenness"]))

    tags, labels, bounds, empty = run(body)
    assert tags == dataset.count_values("tags")
    assert labels == dataset.count_values("ground_truth.label")
    assert bounds == {"mistakenness": dataset.bounds("mistakenness")}
    assert empty == {"mistakenness": (None, None)}


def test_tags_find_and_missing(dataset):
    coll = dataset.collection_name
    ids = [ObjectId(i) for i in dataset.values("id")[:4]]

    async def body(data):
        added = await data.add_tag(coll, ids, "needs-review")
        again = await data.add_tag(coll, ids, "needs-review")
        removed = await data.remove_tag(coll, ids[:1], "needs-review")
        doc = await data.find_by_id(coll, str(ids[1]))
        by_path = await data.find_by_filepath(coll, doc["filepath"])
        missing = (await data.find_by_id(coll, "nope"), await data.find_by_id(coll, "0" * 24),
                   await data.find_by_filepath(coll, "/nope.png"))
        return added, again, removed, doc, by_path, missing

    added, again, removed, doc, by_path, missing = run(body)
    assert (added, again, removed) == (4, 0, 1)
    assert "needs-review" in doc["tags"]
    assert by_path["_id"] == doc["_id"]
    assert missing == (None, None, None)
    assert sorted(dataset.match_tags("needs-review").values("id")) == sorted(str(i) for i in ids[1:])


def test_rejected_queries_become_validation_errors(dataset):
    async def body(data):
        return await data.aggregate(dataset.collection_name, [{"$match": {"$nosuchop": 1}}])

    with pytest.raises(ValidationError, match="rejected"):
        run(body)


def test_summarize_matches_the_separate_aggregations(dataset):
    view = dataset.match(F("mistakenness") > 0.3)

    async def body(data):
        return (await data.summarize(dataset.collection_name, view.pipeline(), bound_paths=["mistakenness"],
                                     value_paths=["tags", "ground_truth.label"], unwind=[True, False]),
                await data.summarize(dataset.collection_name, dataset.match_tags("none").pipeline(),
                                     value_paths=["tags"], unwind=[True], bound_paths=["mistakenness"]))

    facts, empty = run(body)
    assert facts == {"count": len(view),
                     "values": {"tags": view.count_values("tags"),
                                "ground_truth.label": view.count_values("ground_truth.label")},
                     "bounds": {"mistakenness": view.bounds("mistakenness")}}
    assert empty == {"count": 0, "values": {"tags": {}}, "bounds": {"mistakenness": (None, None)}}


def test_sync_api_and_app_give_identical_aggregations(dataset):
    """count, count_values (None: samples lacking the field), bounds and histogram agree."""
    lacking = dataset.take(4, seed=1).values("id")
    dataset.select(lacking).set_values("ground_truth", [None] * 4)
    dataset.select(lacking[:2]).set_values("mistakenness", [None] * 2)
    view = dataset.match(F("mistakenness") > 0.1)
    coll, pipeline = dataset.collection_name, view.pipeline()
    low, high = view.bounds("mistakenness")

    async def values(data, pipeline, path):
        facts = await data.summarize(coll, pipeline, value_paths=[path], unwind=[path == "tags"])
        return facts["values"][path]

    async def body(data):
        return (await data.count(coll, pipeline),
                await values(data, pipeline, "ground_truth.label"),
                await values(data, dataset.pipeline(), "ground_truth.label"),
                await values(data, pipeline, "tags"),
                await data.bounds(coll, pipeline, ["mistakenness"]),
                await data.histogram(coll, dataset.pipeline(), "mistakenness", low=0.0, high=0.5, bins=4),
                await data.summarize(coll, dataset.pipeline(), value_paths=["ground_truth.label"]))

    count, labels, all_labels, tags, bounds, histogram, summary = run(body)
    assert count == view.count()
    assert labels == view.count_values("ground_truth.label")
    assert all_labels == dataset.count_values("ground_truth.label")
    assert all_labels[None] == 4
    assert summary["values"]["ground_truth.label"] == all_labels
    assert tags == view.count_values("tags")
    assert bounds == {"mistakenness": (low, high)}
    assert histogram == dataset.histogram_values("mistakenness", bins=4, range=(0.0, 0.5))
    assert sum(histogram[0]) + histogram[2] == len(dataset)  # None and missing count as other
