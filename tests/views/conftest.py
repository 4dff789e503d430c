"""A small dataset for view tests, and a real mongod shared with subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import labellens as ll
from labellens import db

LABELS = ("cat", "dog", "bird")
SCORES = (0.5, 0.1, 0.9, 0.3, None, 0.7, 0.2, 0.8, 0.6, "missing")
NUM = len(SCORES)


def rows() -> list[dict[str, Any]]:
    """The plain values of the small dataset, to compute expected results in Python."""
    out = []
    for i, score in enumerate(SCORES):
        out.append({
            "i": i,
            "name": f"img_{i}.{'png' if i % 2 else 'jpg'}",
            "tags": ["odd" if i % 2 else "even"] + (["third"] if i % 3 == 0 else []),
            "gt": LABELS[i % 3],
            "gt_conf": i / 10,
            "pred": LABELS[(i + i // 3) % 3] if i < 8 else None,
            "score": None if score == "missing" else score,
            "score_set": score != "missing",
            "preds": [("cat", 0.1 * i), ("dog", 0.95 - 0.1 * i)] if i % 4 else None,
            "n": i,
        })
    return out


def make_sample(row: dict[str, Any]) -> ll.Sample:
    fields: dict[str, Any] = {
        "gt": ll.Classification(label=row["gt"], confidence=row["gt_conf"]),
        "name": row["name"],
        "n": row["n"],
    }
    if row["pred"] is not None:
        fields["pred"] = ll.Classification(label=row["pred"], logits=[row["i"], 1.0, 2.0])
    if row["score_set"]:
        fields["score"] = row["score"]
    if row["preds"] is not None:
        fields["preds"] = ll.Classifications(classifications=[
            ll.Classification(label=label, confidence=conf) for label, conf in row["preds"]])
    return ll.Sample(f"/data/{row['name']}", tags=list(row["tags"]), **fields)


@dataclass
class Small:
    """The small dataset, its sample ids (in insertion order) and its rows."""

    dataset: ll.Dataset
    ids: list[str]
    rows: list[dict[str, Any]]

    def positions(self, view: Any) -> list[int]:
        """The row numbers of a view's samples, in view order."""
        return [self.ids.index(i) for i in view.values("id")]

    def where(self, predicate: Callable[[dict[str, Any]], bool]) -> list[int]:
        return [r["i"] for r in self.rows if predicate(r)]

    def raw_docs(self) -> list[dict[str, Any]]:
        """Every stored document, to check that views change nothing."""
        return list(db.get_database()[self.dataset.collection_name].find({}, sort=[("_id", 1)]))


def build_small(name: str | None = None, persistent: bool = False) -> Small:
    dataset = ll.Dataset(name, persistent=persistent)
    data = rows()
    ids = dataset.add_samples(make_sample(r) for r in data)
    return Small(dataset, ids, data)


@pytest.fixture
def small(backend: str) -> Small:
    return build_small()


@pytest.fixture
def real_mongod(mongod_uri: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Point labellens at the session's real mongod; yields the env vars for subprocesses."""
    if "mongod" not in os.environ.get("LABELLENS_TEST_BACKENDS", "mongomock,mongod"):
        pytest.skip("the real mongod backend is disabled (LABELLENS_TEST_BACKENDS)")
    env = {"LABELLENS_DATABASE_URI": mongod_uri, "LABELLENS_DATABASE_NAME": f"views_{os.getpid()}"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    db.close_clients()
    yield env
    db.get_client().drop_database(env["LABELLENS_DATABASE_NAME"])
    db.close_clients()


@pytest.fixture
def small_builder() -> Callable[..., Small]:
    """Builds the small dataset (``name``, ``persistent``) on the database in use."""
    return build_small


@pytest.fixture
def python_runner() -> Callable[[str, dict[str, str]], str]:
    """Runs code in a fresh interpreter (see :func:`run_python`)."""
    return run_python


def run_python(code: str, env: dict[str, str]) -> str:
    """Run ``code`` in a fresh interpreter with ``env``; returns its stdout."""
    result = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env},
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()
