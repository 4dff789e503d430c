"""Labels: validation, compact logits, extra attributes, printing (no database)."""

import warnings

import numpy as np
import pytest

import labellens as ll
from labellens.errors import ValidationError


def test_logits_accept_list_or_array_and_come_back_float32():
    from_list = ll.Classification(label="cat", logits=[1, 2.5, -3])
    from_array = ll.Classification(label="cat", logits=np.array([1, 2.5, -3], dtype=np.float64))
    for label in (from_list, from_array):
        assert label.logits.dtype == np.float32
        np.testing.assert_array_equal(label.logits, [1, 2.5, -3])


def test_logits_are_stored_as_binary_not_an_array_of_doubles():
    doc = ll.Classification(label="cat", logits=[1.0, 2.0]).to_mongo()
    assert isinstance(doc["logits"], bytes) and len(doc["logits"]) == 8
    assert doc["_cls"] == "Classification" and "_id" in doc and "id" not in doc


@pytest.mark.parametrize("kwargs, message", [
    ({"label": 3}, "label must be a string"),
    ({"label": "cat", "confidence": 1.5}, "confidence must be in [0, 1]"),
    ({"label": "cat", "confidence": "high"}, "confidence must be a number"),
    ({"label": "cat", "logits": [[1, 2]]}, "logits must be 1-D"),
    ({"label": "cat", "logits": [1, float("nan")]}, "finite"),
    ({"label": "cat", "logits": [0.5, float("-inf")]}, "finite"),
    ({"label": "cat", "logits": [float("inf"), float("-inf")]}, "finite"),
    ({"label": "cat", "logits": ["a"]}, "logits must be a 1-D sequence"),
    ({"label": "cat", "logits": []}, "logits must have one value per class, got none"),
])
def test_invalid_labels_raise_clear_errors(kwargs, message):
    with pytest.raises(ValidationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        ll.Classification(**kwargs)


def test_the_largest_finite_logits_are_accepted_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        label = ll.Classification(label="cat", logits=[3e38, -3e38, 0.0])
    assert np.isfinite(label.logits).all()


def test_assignment_is_validated():
    label = ll.Classification(label="cat")
    with pytest.raises(ValidationError, match="confidence"):
        label.confidence = 2


def test_extra_attributes_round_trip():
    label = ll.Classification(label="cat", reviewed=True, confidence=0.5, logits=[0.1, 0.9])
    back = ll.Classification.from_mongo(label.to_mongo())
    assert back == label
    assert back.reviewed is True and back.id == label.id


def test_classifications_round_trip():
    labels = ll.Classifications(classifications=[ll.Classification(label="a"), ll.Classification(label="b")])
    back = ll.Classifications.from_mongo(labels.to_mongo())
    assert [c.label for c in back.classifications] == ["a", "b"]
    assert back == labels


def test_repr_matches_the_tutorial_layout():
    text = repr(ll.Classification(label="ship", id="6064c24c01257d68b7b0b34c"))
    assert text == ("<Classification: {\n    'id': '6064c24c01257d68b7b0b34c',\n    'tags': [],\n"
                    "    'label': 'ship',\n    'confidence': None,\n    'logits': None,\n}>")


def test_new_label_ids_are_unique_object_ids_and_differ_in_a_forked_child():
    import os

    from bson import ObjectId

    ids = [ll.Classification(label="cat").id for _ in range(1000)]
    assert len(set(ids)) == 1000 and all(ObjectId.is_valid(i) for i in ids)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write, ll.Classification(label="cat").id.encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 24).decode()
    parent = ll.Classification(label="cat").id
    assert child[8:18] != parent[8:18]  # a new per-process random part after a fork


def test_label_int_attribute_beyond_64_bits_is_refused_when_encoded():
    from labellens.errors import SchemaError

    with pytest.raises(SchemaError, match="64 bits"):
        ll.Classification(label="cat", count=2**70).to_mongo()


def test_sample_and_label_ids_come_from_one_source_unique_and_increasing():
    """add_samples takes its sample ids in bulk from the same source as label ids: valid, distinct,
    increasing within a batch (so _id order is insertion order), same process part as label ids."""
    from bson import ObjectId

    from labellens.ids import new_hex_id, new_object_ids

    ids = new_object_ids(5000)
    assert all(isinstance(i, ObjectId) for i in ids) and len(set(ids)) == 5000
    counters = [int(str(i)[18:], 16) for i in ids]
    assert all((b - a) % 0x1000000 == 1 for a, b in zip(counters, counters[1:]))
    label = new_hex_id()
    assert ObjectId.is_valid(label) and label[8:18] == str(ids[0])[8:18]
    assert int(label[18:], 16) == (counters[-1] + 1) % 0x1000000
