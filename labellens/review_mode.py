"""``labellens.review``: open the App in review mode over a dataset or view.

Review mode shows the queue one sample at a time (most likely mistakes first),
one key per decision; each decision is written at once through
``dataset.apply_label_changes`` and recorded in the label history::

    session = labellens.review(dataset.match_tags("train"), label_field="ground_truth")
    ...
    dataset.label_history()[:5]
"""

from __future__ import annotations

import webbrowser
from typing import Any
from urllib.parse import urlencode

from labellens.brain.default_score import default_score_field
from labellens.dataset import Dataset, View
from labellens.errors import ValidationError
from labellens.fields import NUMERIC
from labellens.label_types import label_fields
from labellens.session import DEFAULT_PORT, Session, _has_display, _notebook_display, launch_app


def review_url(base_url: str, *, label_field: str, order_by: str | None = None,
               include_reviewed: bool = False) -> str:
    """The App's URL that opens review mode (``...#review?field=...&order=...``)."""
    params = {"field": label_field}
    if order_by:
        params["order"] = order_by
    if include_reviewed:
        params["reviewed"] = "1"
    return f"{base_url}#review?{urlencode(params)}"


def review(samples: Dataset | View, label_field: str = "ground_truth", *, order_by: str | None = None,
           include_reviewed: bool = False, port: int = DEFAULT_PORT, address: str = "127.0.0.1",
           auto: bool = True, **kwargs: Any) -> Session:
    """Open the App in review mode over ``samples`` and return its :class:`~labellens.session.Session`.

    Parameters
    ----------
    samples
        The dataset or view to review.
    label_field
        The ``Classification`` field whose labels decisions change.
    order_by
        The numeric score to review by, highest first (default: the App's default
        sort, :func:`~labellens.brain.default_score.default_score_field`).
    include_reviewed
        Also queue samples already tagged ``reviewed``.
    port, address, auto, kwargs
        As for :func:`labellens.launch_app` (``token``, ``cache_dir``).
    """
    if not isinstance(samples, (Dataset, View)):
        raise ValidationError(f"review takes a Dataset or a View, got {type(samples).__name__}")
    schema = samples.get_field_schema()
    labels = label_fields(schema, "review")
    if label_field not in labels:
        raise ValidationError(f"label_field {label_field!r} is not a Classification field; "
                              f"label fields are: {labels or 'none, add labels first'}")
    numeric = [name for name, kind in schema.items() if kind in NUMERIC]
    if order_by is not None and order_by not in numeric:
        raise ValidationError(f"order_by {order_by!r} is not a numeric field; numeric fields are: {numeric}")
    if order_by is None and default_score_field(numeric) is None:
        print("no score field yet: the queue is in view order (run compute_label_issues for a better order)")
    session = launch_app(samples, port=port, address=address, auto=False, **kwargs)
    url = review_url(session.url, label_field=label_field, order_by=order_by,
                     include_reviewed=include_reviewed)
    print(f"Review mode: {url}")
    if auto:
        display = _notebook_display()
        if display is not None:
            display.display(display.IFrame(url, width="100%", height=800))
        elif _has_display():
            webbrowser.open(url, new=2)
    return session


__all__ = ["review", "review_url"]
