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
