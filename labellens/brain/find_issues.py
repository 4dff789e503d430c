"""``find_issues``: every data-issue check that applies, run on a dataset or view, in one report.

Label issues (predictions with logits), outliers and near duplicates
(embeddings), image quality (the files) and class imbalance (the labels): each
check that has its inputs runs as its own brain method and writes its fields;
the report has one table per issue that a run declares it flags (its
:class:`~labellens.brain.run.Flag`: the field that marks it, the score that ranks it):
how many samples, the worst ones, how many per class, sorted by the share of samples affected. The report is
kept as a run of kind ``"issues"`` so the App can show it and count each issue
type on its current view (``IssueTable.query`` matches the flagged samples).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from labellens.brain.duplicates import compute_near_duplicates
from labellens.brain.image_quality import compute_image_quality
from labellens.brain.label_inputs import CLASSIFICATION, CLASSIFICATIONS
from labellens.brain.label_issues import compute_label_issues
from labellens.brain.outliers import compute_outliers
from labellens.brain.run import Flag, RunSummary
from labellens.dataset.collection import SampleCollection
from labellens.errors import FieldNotFoundError, SchemaError, ValidationError

RUN_KIND = "issues"
WORST = 10
IMBALANCE_FRACTION = 0.1  # a class is rare below this fraction of an even share (cleanlab's Datalab)
DESCRIPTIONS = {
    "label": "label likely wrong", "outlier": "far from its class and from everything",
    "near_duplicate": "near or exact copy of another sample (the copies to drop)",
    "class_imbalance": "label of a rare class", "dark": "too dark", "light": "overexposed",
    "blurry": "blurry", "low_information": "little information", "odd_aspect_ratio": "odd aspect ratio",
    "odd_size": "odd size", "grayscale": "grayscale"}


@dataclass
class IssueTable:
    """One issue type: how many samples have it, the worst ones, and how many per class.

    ``query`` is the ``match`` filter of the affected samples; ``worst`` pairs
    sample ids with their score (sorted worst first; higher = worse unless
    ``low_is_worse``).
    """

    issue: str
    description: str
    count: int
    fraction: float
    query: dict[str, Any]
    score_field: str | None = None
    low_is_worse: bool = False
    worst: list[tuple[str, float | None]] = field(default_factory=list)
    per_class: dict[str, int] = field(default_factory=dict)

    def written(self, samples: SampleCollection) -> bool:
        """Whether the flag field exists (a check that flagged nothing may have written none)."""
        return next(iter(self.query)).split(".", 1)[0] in samples.get_field_schema()

    def view(self, samples: SampleCollection) -> SampleCollection:
        """The samples of ``samples`` that have this issue, worst first when there is a score."""
        matched = samples.match(self.query)
        if self.score_field is None:
            return matched
        return matched.sort_by(self.score_field, reverse=not self.low_is_worse)


@dataclass
class IssuesReport:
    """Every issue table of one ``find_issues`` run, the most widespread first."""

    key: str
    num_samples: int
    tables: list[IssueTable]
    skipped: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, issue: str) -> IssueTable:
        for table in self.tables:
            if table.issue == issue:
                return table
        raise KeyError(f"no issue {issue!r} in this report; issues: {[t.issue for t in self.tables]}")

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "num_samples": self.num_samples, "skipped": self.skipped,
                "tables": [asdict(t) for t in self.tables]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IssuesReport:
        tables = [IssueTable(**{**t, "worst": [tuple(w) for w in t["worst"]]}) for t in data["tables"]]
        return cls(data["key"], data["num_samples"], tables, dict(data.get("skipped", {})))

    def __str__(self) -> str:
        lines = [f"{self.num_samples} samples; issue types by share of samples:",
                 f"  {'issue':<18} {'samples':>8} {'share':>7}  worst classes"]
        for t in self.tables:
            top = sorted(t.per_class.items(), key=lambda kv: -kv[1])[:3]
            classes = ", ".join(f"{name} {count}" for name, count in top)
            lines.append(f"  {t.issue:<18} {t.count:>8} {t.fraction:>7.1%}  {classes}")
        for t in self.tables:
            if t.count and t.worst:
                shown = ", ".join(f"{i}" + (f" ({s:.2f})" if s is not None else "") for i, s in t.worst[:3])
                lines.append(f"  worst {t.issue}: {shown}")
        lines += [f"  not run: {name} ({why})" for name, why in self.skipped.items()]
        return "\n".join(lines)


def find_issues(samples: SampleCollection, pred_field: str | None = None,
                label_field: str | None = "ground_truth", *, embeddings_field: str | None = None,
                image_quality: bool = True, key: str = "issues", progress: bool = True) -> IssuesReport:
    """Run every check that applies to ``samples`` and return one :class:`IssuesReport`.

    - label issues: ``pred_field`` (``Classification`` with logits) and ``label_field``
      (fields ``label_issue``, ``label_issue_flag``, ``label_issue_suggestion``);
    - outliers and near duplicates: ``embeddings_field`` (``outlier``, ``outlier_flag``;
      ``near_dup_group``, ``near_dup_keep``, ``near_dup_exact``); exact file copies
      are found even without embeddings;
    - image quality: ``image_quality=True`` (``quality_*`` fields);
    - class imbalance: ``label_field`` (no field; the rare classes' samples).

    Checks whose inputs are missing are listed in ``report.skipped``.
    """
    schema = samples.get_field_schema()
    label = _label_field(schema, label_field)
    if pred_field is not None and pred_field not in schema:
        raise FieldNotFoundError(f"pred_field {pred_field!r} does not exist; run a model first "
                                 "(labellens.inference.apply_model)")
    if embeddings_field is not None and embeddings_field not in schema:
        raise FieldNotFoundError(f"embeddings_field {embeddings_field!r} does not exist; compute it first "
                                 "with labellens.inference.compute_embeddings")
    total = len(samples)
    if total == 0:
        raise ValidationError("find_issues needs at least one sample")
    skipped: dict[str, str] = {}
    runs: list[RunSummary] = []
    if pred_field is not None and len(samples.exists(pred_field).exists(f"{pred_field}.logits", False)):
        skipped["label"] = (f"some {pred_field!r} predictions have no logits "
                            "(run the model with store_logits=True)")
    elif pred_field is not None and label is not None:
        runs.append(compute_label_issues(samples, pred_field, label_field=label,
                                         embeddings_field=embeddings_field, progress=progress))
    else:
        skipped["label"] = "needs pred_field (with logits) and a Classification label_field"
    if embeddings_field is not None:
        runs.append(compute_outliers(samples, embeddings_field, label_field=label))
    else:
        skipped["outlier"] = "needs embeddings_field"
    runs.append(compute_near_duplicates(samples, embeddings_field))
    if image_quality:
        runs.append(compute_image_quality(samples, progress=progress))
    else:
        skipped["image quality"] = "image_quality=False"
    tables = [_table(samples, issue, flag, label, total) for run in runs for issue, flag in run.flags.items()]
    if label is not None:
        tables.append(_imbalance(samples, label, total))
    else:
        skipped["class_imbalance"] = "needs a Classification label_field"
    tables.sort(key=lambda t: -t.fraction)
    report = IssuesReport(key, total, tables, skipped)
    samples.dataset.register_run(RUN_KIND, key, report.to_dict(), [])
    return report


def load_issues_report(samples: SampleCollection, key: str = "issues") -> IssuesReport:
    """The report of the ``find_issues`` run ``key`` (RunNotFoundError if there is none)."""
    return IssuesReport.from_dict(samples.dataset.get_run(RUN_KIND, key)["config"])


def _label_field(schema: dict[str, str], label_field: str | None) -> str | None:
    if label_field is None or label_field not in schema:
        return None
    if schema[label_field] == CLASSIFICATIONS:
        raise SchemaError(f"label_field {label_field!r} holds Classifications; find_issues needs "
                          "single-label Classification labels")
    return label_field if schema[label_field] == CLASSIFICATION else None


def _table(samples: SampleCollection, issue: str, flag: Flag, label: str | None, total: int) -> IssueTable:
    """The table of the samples a run flagged with ``issue``."""
    description = DESCRIPTIONS.get(issue, issue.replace("_", " "))
    table = IssueTable(issue, description, 0, 0.0, flag.query, flag.score, flag.low_is_worse)
    if not table.written(samples):
        return table
    matched = table.view(samples)
    table.count = len(matched)
    table.fraction = table.count / total
    if table.count:
        top = matched.limit(WORST)
        scores = top.values(flag.score) if flag.score else [None] * min(WORST, table.count)
        table.worst = list(zip(top.values("id"), scores))
        if label is not None:
            counts = samples.match(flag.query).count_values(f"{label}.label")
            table.per_class = {str(k): int(v) for k, v in counts.items() if k is not None}
    return table


def _imbalance(samples: SampleCollection, label: str, total: int) -> IssueTable:
    """Samples whose class has under IMBALANCE_FRACTION of an even share of the labelled samples."""
    counts = {k: v for k, v in samples.count_values(f"{label}.label").items() if k is not None}
    even = sum(counts.values()) / max(len(counts), 1)
    rare = sorted(k for k, v in counts.items() if v < IMBALANCE_FRACTION * even)
    table = IssueTable("class_imbalance", DESCRIPTIONS["class_imbalance"], sum(counts[k] for k in rare), 0.0,
                       {f"{label}.label": {"$in": rare}})
    table.fraction = table.count / total
    table.per_class = {k: counts[k] for k in rare}
    if rare:
        table.worst = [(i, None) for i in samples.match(table.query).limit(WORST).values("id")]
    return table
