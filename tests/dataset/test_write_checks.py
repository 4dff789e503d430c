"""All-or-nothing writes: MongoDB's document limit, label attributes and logits are checked before
anything is written, and a call that fails leaves the samples and the schema as they were."""

from __future__ import annotations

import numpy as np
import pytest

import labellens as ll
from labellens.errors import DocumentTooLargeError, FieldNotFoundError, SchemaError, ValidationError

TOO_LARGE = "x" * 17_000_000  # over MongoDB's 16 MiB per document on its own
HALF = "y" * 9_000_000  # two of these in one sample are over it


def make(n: int = 4, **fields: object) -> ll.Dataset:
    ds = ll.Dataset()
    ds.add_samples(ll.Sample(f"/img/{i}.png", score=float(i), gt=ll.Classification(label="cat"), **fields)
                   for i in range(n))
    return ds


# -- 16 MiB ----------------------------------------------------------------------------------------

def test_set_values_checks_every_document_before_the_first_batch(backend: str) -> None:
    ds = ll.Dataset()
    ds.add_samples(ll.Sample(f"/img/{i}.png") for i in range(10_005))  # the big value is in the 2nd batch
    with pytest.raises(DocumentTooLargeError, match=r"value 10004 for 'v' of sample \w+ would be "
                                                    r"17,000,\d+ bytes.*16 MiB.*nothing was written"):
        ds.set_values("v", ["a"] * 10_004 + [TOO_LARGE])
    assert "v" not in ds.get_field_schema()
    ds.add_sample_field("v", "StringField")  # the field was never declared, so it can be now
    assert ds.count("v") == 0


def test_a_label_over_the_limit_is_refused(backend: str) -> None:
    ds = make(2)
    huge = ll.Classification(label="cat", logits=np.zeros(4_200_000, np.float32))  # 16.8 MB of logits
    with pytest.raises(DocumentTooLargeError, match=r"value 1 for 'pred' of sample \w+ would be 16,800,\d+"):
        ds.set_values("pred", [ll.Classification(label="dog"), huge])
    assert "pred" not in ds.get_field_schema()


def test_a_value_that_would_make_its_sample_too_large_is_refused(backend: str) -> None:
    ds = make(3)
    first = ds.first()
    first["notes"] = HALF
    first.save()
    before = ds.values("score")
    with pytest.raises(DocumentTooLargeError, match=r"value 0 for 'more'.*the sample would be 18,0"):
        ds.set_values("more", [HALF, "small", "small"])
    with pytest.raises(DocumentTooLargeError, match=r"set_fields.*sample would be"):
        ds.set_fields({"score": [1.0, 2.0, 3.0], "more": [HALF, None, None]})
    assert ds.values("score") == before and "more" not in ds.get_field_schema()
    ds.set_values("more", [None, HALF, None])  # fits in a sample without the notes
    assert ds.values("more")[1] == HALF


def test_sample_save_over_the_limit_writes_nothing(backend: str) -> None:
    ds = make(2)
    sample = ds.first()
    sample["huge"] = TOO_LARGE
    sample["score"] = 9.0
    with pytest.raises(DocumentTooLargeError, match=r"save\(\): the values for 'score', 'huge' of sample"):
        sample.save()
    sample.reload()  # drops the changes the failed save left unsaved
    sample["notes"] = HALF
    sample.save()
    sample["more"] = HALF
    with pytest.raises(DocumentTooLargeError, match="the sample would be 18,0"):
        sample.save()
    assert ds.values("score") == [0.0, 1.0]
    assert "huge" not in ds.get_field_schema() and "more" not in ds.get_field_schema()
    assert ds.count("notes") == 1


def test_add_samples_over_the_limit_writes_nothing_and_declares_nothing(backend: str) -> None:
    ds = make(2)
    samples = [ll.Sample(f"/new/{i}.png", extra=i) for i in range(2500)]
    samples.insert(2100, ll.Sample("/new/big.png", big=TOO_LARGE))
    with pytest.raises(DocumentTooLargeError, match=r"sample 2100 \('/new/big.png'\) would be 17,000,\d+ "
                                                    r"bytes stored.*16 MiB.*Nothing was written"):
        ds.add_samples(samples)
    assert len(ds) == 2
    schema = ds.get_field_schema()
    assert "extra" not in schema and "big" not in schema


def test_a_failed_set_fields_declares_none_of_its_fields(backend: str) -> None:
    ds = make(3)
    with pytest.raises(SchemaError):
        ds.set_fields({"fresh": [1, 2, 3], "score": ["not a float"] * 3})
    assert "fresh" not in ds.get_field_schema()
    with pytest.raises(ValidationError, match="exactly one value per sample"):
        ds.set_fields({"fresh": [1, 2, 3], "other": [1, 2]})
    assert "fresh" not in ds.get_field_schema() and "other" not in ds.get_field_schema()


# -- attributes of labels ------------------------------------------------------------------------------

@pytest.mark.parametrize("path, values, error, message", [
    ("gt.label", [5] * 4, ValidationError, r"value 0 for 'gt.label'.*label must be a string"),
    ("gt.confidence", [7.0] * 4, ValidationError, r"confidence must be in \[0, 1\]"),
    ("gt.confidence", ["high"] * 4, ValidationError, "confidence must be a number"),
    ("gt.logits", [[1.0, float("nan")]] * 4, ValidationError, "finite"),
    ("gt.logits", [[]] * 4, ValidationError, "one value per class"),
    ("gt.tags", [[3]] * 4, ValidationError, "tags"),
    ("gt.id", ["6b175a1f469a1955844153c8"] * 4, ValidationError, "label ids cannot change"),
    ("gt.label.first", ["a"] * 4, ValidationError, r"set one attribute of the Classification in 'gt'"),
    ("gt._cls", ["Other"] * 4, ValidationError, "set one attribute"),
    ("score.value", [1.0] * 4, SchemaError, "'score' holds FloatField, which has no sub-fields"),
    ("nope.label", ["a"] * 4, FieldNotFoundError, "no field 'nope'"),
])
def test_label_attributes_are_checked_by_the_label_model(backend: str, path: str, values: list[object],
                                                         error: type[Exception], message: str) -> None:
    ds = make(4)
    before = [sample.gt for sample in ds]
    with pytest.raises(error, match=message):
        ds.set_values(path, values)
    assert [sample.gt for sample in ds] == before


def test_label_attributes_are_stored_as_the_label_stores_them(backend: str) -> None:
    ds = make(3)
    ds.set_values("gt.confidence", [np.float32(0.25), 1, None])
    ds.set_values("gt.logits", [np.array([1, 2], np.float64), [3.0, 4.0], None])
    ds.set_values("gt.label", ["dog", "cat", "bird"])
    ds.set_values("gt.reviewed", [True, None, np.int64(2)])  # an extra attribute: any storable value
    labels = [sample.gt for sample in ds]
    assert [label.label for label in labels] == ["dog", "cat", "bird"]
    assert [label.confidence for label in labels] == [0.25, 1.0, None]
    assert labels[0].logits.dtype == np.float32 and labels[1].logits.tolist() == [3.0, 4.0]
    assert labels[2].logits is None
    assert ds.values("gt.reviewed") == [True, None, 2]
    assert ds.values("gt.logits")[0].tolist() == [1.0, 2.0]
    assert ds.count_values("gt.label") == {"dog": 1, "cat": 1, "bird": 1}


def test_a_label_attribute_needs_the_label(backend: str) -> None:
    ds = make(2)
    missing = ds.add_sample(ll.Sample("/img/none.png", score=5.0))
    with pytest.raises(ValidationError, match=f"sample {missing} has no 'gt'.*set the whole field"):
        ds.set_values("gt.confidence", [0.5, 0.5, 0.5])
    assert ds.values("gt.confidence") == [None, None, None]
    ds.set_values("gt.confidence", [0.5, 0.5, None])  # None leaves the sample without a label alone
    assert ds[missing].get("gt") is None and ds.values("gt.confidence") == [0.5, 0.5, None]


def test_assigning_a_bad_label_attribute_is_refused(backend: str) -> None:
    ds = make(1)
    sample = ds.first()
    with pytest.raises(ValidationError, match="confidence"):
        sample.gt.confidence = 7.0
    with pytest.raises(ValidationError, match="label must be a string"):
        sample.gt.label = 5
    with pytest.raises(ValidationError, match="one value per class"):
        sample.gt.logits = []
    sample.save()
    assert ds.first().gt.confidence is None and ds.first().gt.label == "cat"


# -- logits and the dataset's classes --------------------------------------------------------------------

def test_logits_of_another_length_than_the_classes_are_refused_before_any_write(backend: str) -> None:
    ds = make(3)
    ds.default_classes = ["cat", "dog", "bird"]
    wrong = ll.Classification(label="cat", logits=[0.1, 0.9])
    right = ll.Classification(label="cat", logits=[0.1, 0.8, 0.1])
    lengths = r"has 2 logits, but the dataset has 3 default_classes \(cat, dog, bird\)"
    with pytest.raises(ValidationError, match=rf"set_values\('pred'\): 'pred' of sample \w+ {lengths}"):
        ds.set_values("pred", [right, right, wrong])
    with pytest.raises(ValidationError, match=rf"'gt.logits' of sample \w+ {lengths}"):
        ds.set_values("gt.logits", [[0.1, 0.9], None, None])
    with pytest.raises(ValidationError, match=rf"add_samples: 'pred' of sample 1 \('/img/b.png'\) {lengths}"):
        ds.add_samples([ll.Sample("/img/a.png", pred=right), ll.Sample("/img/b.png", pred=wrong)])
    multi = ll.Classifications(classifications=[right, wrong])
    with pytest.raises(ValidationError, match=lengths):
        ds.set_values("multi", [None, None, multi])
    sample = ds.first()
    sample["pred"] = wrong
    with pytest.raises(ValidationError, match=rf"save\(\): 'pred' of sample {sample.id} {lengths}"):
        sample.save()
    assert len(ds) == 3 and ds.values("gt.logits") == [None] * 3
    assert not {"pred", "multi"} & set(ds.get_field_schema())
    ds.set_values("pred", [right, right, None])
    assert ds.count("pred") == 2
    ds.default_classes = []  # without classes, any length is taken
    ds.set_values("pred", [wrong, wrong, wrong])
    assert ds.count("pred") == 3
