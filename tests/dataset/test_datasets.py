"""Datasets: create, load, list, delete, settings, printing (mongomock and mongod)."""

import datetime as dt

import pytest

import labellens as ll
from labellens.errors import DatasetExistsError, DatasetNotFoundError, ValidationError


def test_create_load_list_delete(backend):
    ds = ll.Dataset("pets", persistent=True)
    assert ds.name == "pets" and ds.persistent and ds.media_type == "image"
    assert isinstance(ds.created_at, dt.datetime)
    assert ll.list_datasets() == ["pets"] and ll.dataset_exists("pets")
    loaded = ll.load_dataset("pets")
    assert loaded == ds and loaded.persistent
    ll.delete_dataset("pets")
    assert not ll.dataset_exists("pets") and ll.list_datasets() == []
    with pytest.raises(DatasetNotFoundError, match="no dataset named 'pets'"):
        ll.load_dataset("pets")


def test_generated_name_and_delete_method(backend):
    ds = ll.Dataset()
    assert ll.dataset_exists(ds.name)
    ds.delete()
    assert not ll.dataset_exists(ds.name)


def test_existing_name_needs_overwrite(backend):
    ds = ll.Dataset("dup")
    ds.add_sample(ll.Sample("/a.png"))
    with pytest.raises(DatasetExistsError, match="already exists"):
        ll.Dataset("dup")
    fresh = ll.Dataset("dup", overwrite=True)
    assert len(fresh) == 0 and ll.list_datasets() == ["dup"]


def test_settings_are_saved(backend):
    ds = ll.Dataset("settings")
    ds.default_classes = ["cat", "dog"]
    ds.info["source"] = "unit test"
    ds.save()
    ds.persistent = True
    loaded = ll.load_dataset("settings")
    assert loaded.default_classes == ["cat", "dog"]
    assert loaded.info == {"source": "unit test"}
    assert loaded.persistent


@pytest.mark.parametrize("bad", ["cat", ["cat", 3], ["cat", ""], 5])
def test_bad_default_classes_are_refused_and_change_nothing(backend, bad):
    ds = ll.Dataset("classes")
    ds.default_classes = ["cat", "dog"]
    with pytest.raises(ValidationError, match="default_classes must be a list of class names"):
        ds.default_classes = bad  # a bare string would otherwise become one class per letter
    assert ll.load_dataset("classes").default_classes == ["cat", "dog"]
    ds.default_classes = None  # clears them, as [] does
    assert ll.load_dataset("classes").default_classes == []


@pytest.mark.parametrize("bad, problem", [
    ("", "non-empty string"), (3, "non-empty string"), (["pets"], "non-empty string"),
    ("a/b", "contains '/'"), ("cats$", "contains '\\$'"), ("a%20b", "contains '%'"), ("a\nb", "contains"),
    ("a\x00b", "contains"), ("what?", "contains '\\?'"), ("tab\there", "contains"),
    ("x" * 101, "101 characters, more than 100"), (".", "must start with"), ("..", "must start with"),
    ("-rf", "must start with"), (" pets", "must start with"), ("pets ", "ends with a space"),
    ("system.views", "reserved by MongoDB"),
])
def test_bad_names_are_refused(backend, bad, problem):
    with pytest.raises(ValidationError, match=problem):
        ll.Dataset(bad)
    assert ll.list_datasets() == []


@pytest.mark.parametrize("name", ["my data.v2-final_3", "x" * 100, "_private", "9", "données 2024", "a..b",
                                  "v1."])
def test_names_of_the_documented_characters_are_accepted(backend, name):
    ll.Dataset(name, persistent=True)
    assert ll.load_dataset(name).name == name and ll.list_datasets() == [name]


def test_datasets_named_under_older_rules_still_load(backend):
    from labellens.dataset import catalog

    catalog.create_record(catalog.store(), "old/name?", True)  # as a release without the name check did
    assert ll.load_dataset("old/name?").name == "old/name?"
    ll.delete_dataset("old/name?")


def test_print_dataset_matches_the_tutorial(backend):
    ds = ll.Dataset("cifar10-test")
    ds.add_samples([ll.Sample("/a.png", tags=["test"], ground_truth=ll.Classification(label="cat")),
                    ll.Sample("/b.png", tags=["test", "mistake"])])
    assert str(ds) == "\n".join([
        "Name:           cifar10-test",
        "Media type:     image",
        "Num samples:    2",
        "Persistent:     False",
        "Tags:           ['mistake', 'test']",
        "Sample fields:",
        "    filepath:     labellens.fields.StringField",
        "    tags:         labellens.fields.ListField(labellens.fields.StringField)",
        "    metadata:     labellens.fields.EmbeddedDocumentField(labellens.labels.ImageMetadata)",
        "    ground_truth: labellens.fields.EmbeddedDocumentField(labellens.labels.Classification)",
    ])
