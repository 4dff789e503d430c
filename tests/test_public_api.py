"""API hygiene (issue 11): options are keyword-only, and the layers' plumbing is not public."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from collections.abc import Callable, Iterator

import pytest

import labellens as ll

PACKAGES = ("labellens", "labellens.brain", "labellens.evaluation", "labellens.inference", "labellens.zoo",
            "labellens.distributed", "labellens.annotation", "labellens.dataset")
MAX_POSITIONAL = 3  # the tutorial's calls: (samples, pred_field, label_field), then options by name


def public_callables() -> Iterator[tuple[str, Callable[..., object]]]:
    """Every function exported by the packages, and the public methods of the classes they export."""
    for package in PACKAGES:
        module = importlib.import_module(package)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                yield f"{package}.{name}", obj
            elif inspect.isclass(obj) and not dataclasses.is_dataclass(obj):  # dataclasses are records
                for attr, member in vars(obj).items():
                    function = member.__func__ if isinstance(member, (classmethod, staticmethod)) else member
                    if (not attr.startswith("_") or attr == "__init__") and inspect.isfunction(function):
                        yield f"{package}.{name}.{attr}", function


def positional(function: Callable[..., object]) -> list[inspect.Parameter]:
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p for p in inspect.signature(function).parameters.values()
            if p.kind in kinds and p.name not in ("self", "cls")]


def test_options_of_public_entry_points_are_keyword_only() -> None:
    found = dict(public_callables())
    assert {"labellens.brain.compute_mistakenness", "labellens.inference.apply_model",
            "labellens.evaluation.evaluate_classifications", "labellens.Dataset.from_dir",
            "labellens.dataset.SampleCollection.export"} <= set(found)  # functions and methods are reached
    # An option is a parameter with a default; required data (a run's fields, a model's classes) is not.
    positional_options = {name: [p.name for p in positional(function)[MAX_POSITIONAL:]
                                 if p.default is not p.empty] for name, function in found.items()}
    assert {name: options for name, options in positional_options.items() if options} == {}


# ``aggregate`` is public: it runs aggregation objects (FiftyOne's API) and refuses raw pipelines.
@pytest.mark.parametrize("name", ["sample_collection", "check_values", "declare_fields"])
def test_methods_for_other_layers_are_not_public(name: str) -> None:
    for cls in (ll.Dataset, ll.View):
        assert not hasattr(cls, name), f"{cls.__name__}.{name} is public"


def test_the_tutorials_calls_still_take_their_arguments_by_position() -> None:
    from labellens import brain, evaluation

    for function, names in [(brain.compute_mistakenness, ["samples", "pred_field", "label_field"]),
                            (evaluation.evaluate_classifications, ["samples", "pred_field", "gt_field"]),
                            (ll.launch_app, ["dataset_or_view", "port", "address"])]:
        assert [p.name for p in positional(function)] == names
