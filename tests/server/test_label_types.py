"""Label types are a seam: a type registered entirely here is stored, validated, filtered by views
and shown in the App's JSON, with no change to the view engine, the server routes or the review queue.
The App's JS renderer registry (static/js/labels/) is pinned to the Python registry."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
from pydantic import Field, field_validator

import labellens as ll
from labellens import F
from labellens.dataset.exporters import export_view
from labellens.errors import SchemaError, StageError, ValidationError
from labellens.label_types import (
    LabelType,
    check_label_field,
    label_fields,
    label_type,
    label_types,
    list_path,
    register_label_type,
)
from labellens.server.app import STATIC_DIR


class Regression(ll.Label):
    """A toy label: one finite number."""

    value: float

    @field_validator("value", mode="before")
    @classmethod
    def _finite(cls, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"value must be a finite number, got {value!r}")
        return float(value)


class Regressions(ll.Label):
    """A toy list of labels."""

    regressions: list[Regression] = Field(default_factory=list)


REGRESSION = register_label_type(LabelType(Regression))
REGRESSIONS = register_label_type(LabelType(Regressions, list_path="regressions"))
VALUES = [0.1, 0.6, 0.9]


@pytest.fixture
def toy(dataset: ll.Dataset) -> ll.Dataset:
    """The App's dataset with a ``reg`` (Regression) and a ``regs`` (Regressions) field."""
    ids = dataset.values("id")
    dataset.set_values("reg", [Regression(value=VALUES[i % 3]) for i in range(len(ids))])
    dataset.set_values("regs", [Regressions(regressions=[Regression(value=v) for v in VALUES[:i % 3 + 1]])
                                for i in range(len(ids))])
    return dataset


def test_the_registry_describes_the_toy_types(toy: ll.Dataset) -> None:
    schema = toy.get_field_schema()
    assert label_type(schema["reg"]) is REGRESSION and label_type(schema["regs"]) is REGRESSIONS
    assert list_path(schema["regs"]) == "regressions" and list_path(schema["reg"]) is None
    assert label_fields(schema) == ["ground_truth", "predictions", "reg", "regs"]
    assert label_fields(schema, "export") == ["ground_truth", "predictions"]
    assert {REGRESSION, REGRESSIONS} <= set(label_types())


def test_toy_labels_store_and_load(toy: ll.Dataset) -> None:
    reloaded = ll.load_dataset(toy.name)
    first = reloaded.first()
    assert first.reg == toy.first().reg and isinstance(first.reg, Regression)
    assert first.reg.value == VALUES[0]
    assert isinstance(first.regs.regressions[0], Regression)
    assert reloaded.values("reg.value")[:3] == VALUES
    toy.set_values("reg.value", [0.5] * len(toy))
    assert set(toy.values("reg.value")) == {0.5}


def test_bad_toy_values_fail_clearly_and_write_nothing(toy: ll.Dataset) -> None:
    with pytest.raises(ValidationError, match=r"invalid Regression: value: value must be a finite number"):
        Regression(value="hi")
    with pytest.raises(ValidationError, match=r"value 1 for 'reg.value'.*finite number, got nan"):
        toy.set_values("reg.value", [0.2, math.nan] + [0.2] * (len(toy) - 2))
    assert toy.values("reg.value")[:3] == VALUES
    with pytest.raises(SchemaError, match="list_path 'nope' is not a field of Regression"):
        LabelType(Regression, list_path="nope")
    with pytest.raises(SchemaError, match="unknown operations"):
        LabelType(Regression, supports=frozenset({"detect"}))
    with pytest.raises(ValidationError, match="it must hold Classification labels"):
        export_view(toy, toy.name + "-export", label_field="reg")
    with pytest.raises(SchemaError, match=r"'regs' holds .*Regressions\); it must hold Classification or "):
        check_label_field(toy.get_field_schema(), "regs", role="label_field", supports="classes")


def test_views_filter_toy_labels(toy: ll.Dataset) -> None:
    high = toy.filter_labels("regs", F("value") > 0.5)
    assert len(high) == len(toy) * 2 // 3  # samples whose list holds only 0.1 are dropped
    assert all(v > 0.5 for values in high.values("regs.regressions.value") for v in values)
    assert len(toy.filter_labels("regs", F("value") > 0.5, only_matches=False)) == len(toy)
    assert len(toy.match(F("reg.value") > 0.5)) == len(toy) * 2 // 3
    assert toy.bounds("reg.value") == (VALUES[0], VALUES[-1])
    with pytest.raises(StageError, match=r"a list \(Classifications, Regressions\); 'reg' is"):
        toy.filter_labels("reg", F("value") > 0.5).count()


def test_toy_labels_in_the_apps_json(client: Any, toy: ll.Dataset) -> None:
    sample = toy.first()
    doc = client.get(f"/api/datasets/{toy.name}/samples/{sample.id}").json()
    assert doc["reg"] == {"_cls": "Regression", "id": sample.reg.id, "tags": [], "value": VALUES[0]}
    assert doc["regs"]["regressions"][0]["_cls"] == "Regression"
    view = toy.filter_labels("regs", F("value") > 0.8)
    response = client.post(f"/api/datasets/{toy.name}/count", json={"view": view.to_json()})
    assert response.status_code == 200, response.text
    assert response.json()["count"] == len(toy) // 3


def test_every_renderer_is_a_js_module_the_app_registers() -> None:
    index = (STATIC_DIR / "js" / "labels" / "index.js").read_text(encoding="utf-8")
    registered = dict(re.findall(r"^\s+(\w+): (\w+),?$", index, re.MULTILINE))
    with_renderer = {t.name: t.renderer for t in label_types() if t.renderer}
    assert with_renderer == {"Classification": "classification"}
    for name, renderer in with_renderer.items():
        assert (STATIC_DIR / "js" / "labels" / f"{renderer}.js").is_file()
        assert registered[name] == renderer
