"""Pure pipeline helpers: the parts of a query the sync API and the App share."""

from bson import ObjectId

from labellens.db import pipelines


def test_only_sorting_keeps_every_document():
    assert pipelines.keeps_every_document([])
    assert pipelines.keeps_every_document([{"$sort": {"score": -1, "_id": -1}}])
    assert not pipelines.keeps_every_document([{"$sort": {"score": 1}}, {"$limit": 5}])
    assert not pipelines.keeps_every_document([{"$match": {"tags": "x"}}])


def test_a_tag_count_is_a_range_of_the_tag_and_id_index():
    low, high = ObjectId("0" * 24), ObjectId("f" * 24)
    assert pipelines.carrying("x") == [{"$match": {"tags": "x"}}, {"$count": "n"}]
    assert pipelines.carrying("x", ids=(low, high)) == [
        {"$match": {"tags": "x", "_id": {"$gte": low, "$lt": high}}}, {"$count": "n"}]
    assert pipelines.carrying("x", ids=(None, high))[0] == {"$match": {"tags": "x", "_id": {"$lt": high}}}


def test_the_middle_id_halves_an_id_range():
    low, high = ObjectId("650000000000000000000000"), ObjectId("650000100000000000000000")
    assert pipelines.middle_id(low, high) == ObjectId("650000080000000000000000")
    assert pipelines.middle_id(low, low) == low
    assert low < pipelines.middle_id(low, high) < high


def test_a_plain_query_pipeline_runs_as_find():
    assert pipelines.as_find([]) == {}
    assert pipelines.as_find([{"$match": {"tags": "x"}}, {"$sort": {"score": -1, "_id": -1}}, {"$skip": 5},
                              {"$limit": 100}, {"$project": {"_id": 1}}]) == {
        "filter": {"tags": "x"}, "sort": [("score", -1), ("_id", -1)], "skip": 5, "limit": 100,
        "projection": {"_id": 1}}
    assert pipelines.as_find([{"$limit": 1}]) == {"limit": 1}


def test_a_pipeline_find_cannot_express_stays_an_aggregation():
    assert pipelines.as_find([{"$limit": 5}, {"$sort": {"score": 1}}]) is None  # limit before sort
    assert pipelines.as_find([{"$match": {"a": 1}}, {"$match": {"b": 1}}]) is None
    assert pipelines.as_find([{"$project": {"_c0": "$ground_truth.label"}}]) is None  # computed value
    assert pipelines.as_find([{"$sort": {"s": {"$meta": "textScore"}}}]) is None
    assert pipelines.as_find([{"$skip": 0}]) is None
    assert pipelines.as_find([{"$addFields": {"k": 1}}, {"$sort": {"k": 1}}]) is None
    assert pipelines.as_find([{"$sort": {"a": 1}, "$limit": 2}]) is None


def test_value_steps_group_distinct_and_bound_the_values_of_a_path():
    prefix = [{"$match": {"tags": "x"}}]
    values = [{"$project": {"_id": 0, "_v": "$tags"}}, {"$unwind": "$_v"}, {"$match": {"_v": {"$ne": None}}}]
    assert pipelines.value_group(prefix, "tags", {"n": {"$sum": 1}}, unwind=True) == [
        *prefix, *values, {"$group": {"_id": None, "n": {"$sum": 1}}}]
    assert pipelines.distinct(prefix, "tags", unwind=True) == [
        *prefix, *values, {"$group": {"_id": "$_v"}}, {"$sort": {"_id": 1}}]
    assert pipelines.value_bounds([], "score") == [
        {"$project": {"_id": 0, "_v": "$score"}}, {"$group": {"_id": None, "min0": {"$min": "$_v"},
                                                             "max0": {"$max": "$_v"}}}]
    assert pipelines.decode_bounds([{"min0": 0.1, "max0": 0.9}], ["_v"]) == {"_v": (0.1, 0.9)}
    assert pipelines.decode_bounds([], ["_v"]) == {"_v": (None, None)}


def test_columns_flatten_paths_into_numbered_keys():
    assert pipelines.columns(["gt.label", "score"], with_ids=False) == (
        [{"$project": {"_c0": "$gt.label", "_c1": "$score", "_id": 0}}], ["_c0", "_c1"])
    assert pipelines.columns([], with_ids=True) == ([{"$project": {"_id": 1}}], [])


def test_an_indexed_histogram_counts_each_bin_over_its_index_range():
    counts = pipelines.indexed_histogram("score", low=0.0, high=1.0, bins=2)
    ranges = pipelines.bin_ranges(0.0, 1.0, 2)
    assert counts == [[{"$match": {"score": ranges[0]}}, {"$count": "n"}],
                      [{"$match": {"score": ranges[1]}}, {"$count": "n"}],
                      [{"$count": "n"}]]
    assert pipelines.decode_indexed_histogram([3, 4, 9]) == ([3, 4], 2)  # 9 samples, 2 others
