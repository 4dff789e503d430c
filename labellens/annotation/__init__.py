"""Send samples to an annotation tool and read the labels back (``view.annotate`` / ``load_annotations``).

Runs are recorded with ``dataset.register_run("annotation", ...)``: backend, project id, label
field, classes; never the URL's credentials. Labels come back through the label-history API
(decision ``import``, reviewer = the tool's annotator).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labellens.annotation.base import AnnotationBackend, AnnotationServerError, AnnotationTask
from labellens.dataset import LabelChange
from labellens.errors import LabelLensError
from labellens.fields import CLASSIFICATION

RUN_KIND = "annotation"


def _labelstudio(url: str | None, api_key: str | None, **options: Any) -> AnnotationBackend:
    from labellens.annotation.labelstudio import connect

    return connect(url, api_key, **options)


BACKENDS: dict[str, Callable[..., AnnotationBackend]] = {"labelstudio": _labelstudio}


def get_backend(name: str, url: str | None = None, api_key: str | None = None,
                **options: Any) -> AnnotationBackend:
    if name not in BACKENDS:
        raise LabelLensError(f"unknown annotation backend {name!r}; choose one of {sorted(BACKENDS)}")
    return BACKENDS[name](url, api_key, **options)


def annotate(samples: Any, anno_key: str, *, backend: str = "labelstudio", label_field: str = "ground_truth",
             url: str | None = None, api_key: str | None = None, classes: list[str] | None = None,
             preannotate: str | None = "label_issue_suggestion", project_name: str | None = None,
             local_files_root: str | None = None) -> dict[str, Any]:
    """Create a project of ``samples`` on the tool and record run ``anno_key``; return the run config.

    ``preannotate`` is a string field (e.g. the label-issue suggestion) or a Classification field
    whose label is offered as the pre-annotation; None offers the current label.
    """
    dataset = samples.dataset
    if anno_key in dataset.list_runs(RUN_KIND):
        raise LabelLensError(f"annotation run {anno_key!r} exists; delete it with delete_annotation_run "
                             "or pick another anno_key")
    conn = get_backend(backend, url, api_key, local_files_root=local_files_root)
    conn.check()
    ids = [str(i) for i in samples.values("id")]
    paths = samples.values("filepath")
    labels = samples.values(f"{label_field}.label")
    suggestions: list[Any] = [None] * len(ids)
    if preannotate is not None and preannotate in dataset.get_field_schema():
        raw = samples.values(preannotate)
        suggestions = [getattr(v, "label", v) if not isinstance(v, dict) else v.get("label") for v in raw]
    if classes is None:
        classes = sorted({x for x in [*labels, *suggestions] if isinstance(x, str)})
    if not classes:
        raise LabelLensError(f"no classes: {label_field!r} has no labels; pass classes=[...]")
    tasks = [AnnotationTask(i, p, lab, s if isinstance(s, str) else None)
             for i, p, lab, s in zip(ids, paths, labels, suggestions)]
    project = conn.create_project(project_name or f"{dataset.name}: {anno_key}", classes, tasks)
    config = {"backend": backend, "label_field": label_field, "classes": list(classes),
              "preannotate": preannotate, "num_tasks": len(tasks), **project}
    dataset.register_run(RUN_KIND, anno_key, config, [label_field])
    return config


def load_annotations(dataset: Any, anno_key: str, *, dest_field: str | None = None, url: str | None = None,
                     api_key: str | None = None) -> dict[str, int]:
    """Write finished tasks' labels into the label field (or ``dest_field``) through the label history.

    Returns ``{"imported", "changed", "unfinished", "unchanged"}``; a second call imports nothing.
    A ``dest_field`` the dataset lacks is declared a Classification field first.
    """
    config = dataset.get_run(RUN_KIND, anno_key)["config"]
    conn = get_backend(config["backend"], url or config.get("url"), api_key)
    results, unfinished = conn.load(config)
    field = dest_field or config["label_field"]
    by_id = {r.sample_id: r for r in results}
    view = dataset.select(list(by_id))
    ids = [str(i) for i in view.values("id")]
    current = view.values(f"{field}.label") if field in dataset.get_field_schema() else [None] * len(ids)
    tags = view.values("tags")
    changes = [LabelChange(sample_id=i, new_label=by_id[i].label, decision="import",
                           reviewer=by_id[i].annotator)
               for i, cur, tg in zip(ids, current, tags)
               if not (cur == by_id[i].label and "reviewed" in (tg or []))]
    changed = sum(1 for i, cur in zip(ids, current) if cur != by_id[i].label)
    if changes:
        if field not in dataset.get_field_schema():  # label decisions change declared fields only
            dataset.add_sample_field(field, CLASSIFICATION)
        dataset.apply_label_changes(field, changes)
    return {"imported": len(changes), "changed": changed, "unfinished": unfinished,
            "unchanged": len(results) - len(changes)}


def delete_annotation_run(dataset: Any, anno_key: str, *, delete_project: bool = False,
                          url: str | None = None, api_key: str | None = None) -> None:
    """Forget run ``anno_key`` (and delete its project on the tool when ``delete_project``)."""
    config = dataset.get_run(RUN_KIND, anno_key)["config"]
    if delete_project:
        get_backend(config["backend"], url or config.get("url"), api_key).delete_project(config)
    dataset.delete_run(RUN_KIND, anno_key)


__all__ = ["AnnotationServerError", "BACKENDS", "annotate", "delete_annotation_run", "get_backend",
           "load_annotations"]
