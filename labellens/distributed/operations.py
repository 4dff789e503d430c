"""What one worker does to one shard: the single-machine function, on the shard's samples without results.

Each operation is a small picklable value (the model travels inside it, once per
worker) whose call runs the existing labellens function on a view and returns
how many samples it did. Only samples without the output field are done, so a
task that is retried, or a rerun after a failure, never redoes finished work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from labellens.dataset.collection import SampleCollection


def pending(view: SampleCollection, output: str) -> SampleCollection:
    """The samples of ``view`` that have no ``output`` field yet."""
    return view.exists(output, False) if output in view.get_field_schema() else view


@dataclass
class ApplyModel:
    model: Any
    label_field: str
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def output(self) -> str:
        return self.label_field

    def __call__(self, view: SampleCollection) -> int:
        from labellens.inference import apply_model

        todo = pending(view, self.label_field)
        if len(todo) == 0:
            return 0
        summary = apply_model(todo, self.model, self.label_field, progress=False, **self.options)
        return summary.processed


@dataclass
class ComputeEmbeddings:
    model: Any
    embeddings_field: str
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def output(self) -> str:
        return self.embeddings_field

    def __call__(self, view: SampleCollection) -> int:
        from labellens.inference import compute_embeddings

        todo = pending(view, self.embeddings_field)
        if len(todo) == 0:
            return 0
        vectors = compute_embeddings(todo, self.model, self.embeddings_field, progress=False, **self.options)
        return len(vectors)


@dataclass
class ComputeMetadata:
    @property
    def output(self) -> str:
        return "metadata"

    def __call__(self, view: SampleCollection) -> int:
        todo = pending(view, "metadata")
        count = len(todo)
        if count:
            todo.compute_metadata()
        return count


@dataclass
class ComputeMistakenness:
    pred_field: str
    label_field: str
    mistakenness_field: str
    use_logits: bool

    @property
    def output(self) -> str:
        return self.mistakenness_field

    def __call__(self, view: SampleCollection) -> int:
        from labellens.brain import compute_mistakenness

        todo = pending(view, self.mistakenness_field)
        if len(todo) == 0:
            return 0
        summary = compute_mistakenness(todo, self.pred_field, self.label_field,
                                       mistakenness_field=self.mistakenness_field,
                                       use_logits=self.use_logits, progress=False)
        return summary.scored + summary.no_prediction


@dataclass
class FineTuneFold:
    """One fold of fine-tuned out-of-sample predictions: train without it, predict and write it."""

    model: Any
    plan: Any  # labellens.brain.fine_tuned.FoldPlan

    def __call__(self, view: SampleCollection, fold: int) -> list[str]:
        from labellens.brain.fine_tuned import run_fold

        return run_fold(view, self.model, self.plan, fold, progress=False)
