"""The contract of every brain run: a ``compute_*`` method is its numpy kernel between these calls.

``BrainRun(...)`` declares the run's key, method, config, inputs and outputs (``name -> type``)
and checks the outputs before anything is written; :meth:`~BrainRun.write` writes every output
of a batch in one bulk call (``usable`` rows in place, the other samples unset), and
:meth:`~BrainRun.stream` scores and writes batch by batch, writes behind the scoring;
:meth:`~BrainRun.finish` names the skipped samples in one warning, records the run with its
``"outputs"`` and ``"flags"``, and returns the method's :class:`RunSummary`. ``find_issues`` and
the App read what a run declared, never field names guessed by convention.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

import numpy as np

from labellens.background import BackgroundWriter
from labellens.brain.label_inputs import check_outputs
from labellens.dataset.collection import SampleCollection
from labellens.progress import ProgressBar
from labellens.reporting import warn_skipped


@dataclass(frozen=True)
class Flag:
    """An issue a run marks: the samples whose ``field`` is ``value``, worst first by ``score``."""

    field: str
    value: bool = True
    score: str | None = None
    low_is_worse: bool = False

    @property
    def query(self) -> dict[str, Any]:
        return {self.field: self.value}


@dataclass(kw_only=True)
class RunSummary:
    """Every run's common part: the fields it wrote (``name -> type``), how many samples it scored,
    the ones it skipped, the issues it flags and its seconds; each method adds its own counts."""

    brain_key: str
    fields: dict[str, str]
    scored: int = 0
    skipped_ids: list[str] = field(default_factory=list)
    flags: dict[str, Flag] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def num_skipped(self) -> int:
        return len(self.skipped_ids)


S = TypeVar("S", bound=RunSummary)


class BrainRun:
    """One run of ``method`` on ``samples`` under ``key``; ``outputs`` may be ``(name, type)`` pairs,
    so that a name given twice is refused."""

    def __init__(self, samples: SampleCollection, key: str, method: str, config: Mapping[str, Any], *,
                 inputs: Sequence[str | None], outputs: Mapping[str, str] | Sequence[tuple[str, str]],
                 flags: Mapping[str, Flag] | None = None, schema: Mapping[str, str] | None = None) -> None:
        check_outputs(samples.get_field_schema() if schema is None else schema, outputs,
                      [name for name in inputs if name])
        self.samples, self.key, self.method, self.config = samples, key, method, dict(config)
        self.outputs = dict(outputs.items() if isinstance(outputs, Mapping) else outputs)
        self.flags, self.skipped, self._why = dict(flags or {}), [], ""
        self._start = time.perf_counter()

    def write(self, ids: Sequence[Any], columns: Mapping[str, Any], usable: np.ndarray | None = None) -> None:
        """Write ``columns`` (output -> values) of the samples ``ids`` in one bulk call; with the
        (N,) mask ``usable``, the values are those of the usable rows and the others stay unset."""
        if usable is not None:
            columns = {name: scatter(values, usable) for name, values in columns.items()}
        self.samples.set_fields(columns, ids=ids)

    def stream(self, paths: Sequence[str], score: Callable[[dict[str, list[Any]]], tuple[Any, np.ndarray]],
               *, batch_size: int, progress: bool) -> None:
        """``write(batch["id"], *score(batch))`` for each batch of ``paths``, the write of one batch
        overlapping the scoring of the next: memory stays bounded by the batch size."""
        with ProgressBar(len(self.samples), desc=self.method, unit="samples", enabled=progress) as bar, \
                BackgroundWriter(depth=1) as writer:
            for batch in self.samples.iter_batches(paths, batch_size=batch_size, object_ids=True):
                writer.submit(self.write, batch["id"], *score(batch))
                bar.update(len(batch["id"]))

    def skip(self, ids: Sequence[Any], why: str) -> None:
        """Samples left unset, named at :meth:`finish` as ``"<N> samples <why>: ..."``."""
        self.skipped += [str(i) for i in ids]
        self._why = why

    def record(self) -> None:
        """Record the run with its config as it stands (``finish`` does; a resumable run also after
        each finished step, so that a rerun knows where it stopped)."""
        self.samples.dataset.register_brain_run(self.key, {
            "method": self.method, **self.config, "outputs": self.outputs,
            "flags": {issue: asdict(flag) for issue, flag in self.flags.items()}}, list(self.outputs))

    def finish(self, summary: type[S], **counts: Any) -> S:
        """Warn once about the skipped samples, record the run, and return ``summary(**counts)``."""
        warn_skipped(self.skipped, f"samples {self._why}", stacklevel=3)
        self.record()
        return summary(brain_key=self.key, fields=self.outputs, skipped_ids=self.skipped, flags=self.flags,
                       seconds=time.perf_counter() - self._start, **counts)


def scatter(values: Sequence[Any] | np.ndarray, usable: np.ndarray) -> list[Any]:
    """One value per sample: ``values`` (one per usable row) in place, None elsewhere."""
    out: list[Any] = [None] * len(usable)
    for row, value in zip(np.flatnonzero(usable).tolist(), values.tolist() if isinstance(values, np.ndarray)
                          else values):
        out[row] = value
    return out


def declared_outputs(info: Mapping[str, Any]) -> dict[str, str | None]:
    """The outputs (``name -> type``) in a brain run's record (no types in a record made before)."""
    return dict(info["config"].get("outputs") or dict.fromkeys(info["fields"]))
