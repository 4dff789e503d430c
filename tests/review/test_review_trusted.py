"""After a review, compute_label_issues trusts the reviewed labels: they are not flagged again."""

from __future__ import annotations

import numpy as np

import labellens as ll
from labellens import brain
from labellens.dataset import LabelChange

CLASSES = ["cat", "dog", "bird"]


def test_reviewed_labels_are_not_flagged_again(backend: str) -> None:
    rng = np.random.default_rng(0)
    n = 120
    true = rng.integers(0, 3, size=n)
    logits = (np.eye(3)[true] * 3 + rng.normal(size=(n, 3))).astype(np.float32)
    given = np.where(rng.random(n) < 0.2, (true + 1) % 3, true)
    ds = ll.Dataset()
    ds.default_classes = CLASSES
    ds.add_samples(ll.Sample(filepath=f"/img/{i}.png",
                             ground_truth=ll.Classification(label=CLASSES[given[i]]),
                             pred=ll.Classification(label=CLASSES[int(logits[i].argmax())], logits=logits[i]))
                   for i in range(n))
    brain.compute_label_issues(ds, "pred", progress=False)
    flagged = ds.match(ll.F("label_issue_flag")).sort_by("label_issue", reverse=True).limit(4)
    kept = flagged.values("id")
    assert len(kept) == 4
    ds.apply_label_changes("ground_truth", [LabelChange(sid, None, "keep") for sid in kept])
    summary = brain.compute_label_issues(ds, "pred", progress=False)
    reviewed = ds.select(kept)
    assert reviewed.values("label_issue") == [0.0] * 4 and reviewed.values("label_issue_flag") == [False] * 4
    assert reviewed.values("label_issue_suggestion") == reviewed.values("ground_truth.label")
    others = ds.exclude(kept)
    assert summary.num_flagged == sum(others.values("label_issue_flag")) > 0
