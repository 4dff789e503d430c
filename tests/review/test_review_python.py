"""``labellens.review(...)`` and ``labellens review NAME``: the App opened in review mode."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

import labellens as ll
from labellens.cli.main import cli
from labellens.errors import ValidationError
from labellens.session import Session

CLASSES = ["cat", "dog", "frog"]


@pytest.fixture
def dataset(backend: str, tmp_path: Path) -> ll.Dataset:
    ds = ll.Dataset("to-review")
    ds.default_classes = CLASSES
    ds.add_samples([ll.Sample(filepath=str(tmp_path / f"{i}.png"), mistakenness=i / 4,
                              ground_truth=ll.Classification(label="cat")) for i in range(4)])
    return ds


def queue_of(session: Session, dataset: ll.Dataset) -> dict:
    request = urllib.request.Request(session.url.rstrip("/") + f"/api/datasets/{dataset.name}/review/next",
                                     data=json.dumps({"client": "t", "count": 4}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_review_opens_the_app_in_review_mode(dataset: ll.Dataset, capsys: pytest.CaptureFixture[str]) -> None:
    with ll.review(dataset, "ground_truth", port=0, auto=False) as session:
        assert isinstance(session, Session) and session.dataset == dataset
        out = capsys.readouterr().out
        assert f"Review mode: {session.url}#review?field=ground_truth" in out
        ranked = dataset.sort_by("mistakenness", reverse=True).values("id")
        assert [s["id"] for s in queue_of(session, dataset)["samples"]] == ranked


def test_review_checks_its_arguments_before_starting(dataset: ll.Dataset) -> None:
    with pytest.raises(ValidationError, match="label fields are: \\['ground_truth'\\]"):
        ll.review(dataset, "predictions", port=0, auto=False)
    with pytest.raises(ValidationError, match="numeric fields are: \\['mistakenness'\\]"):
        ll.review(dataset, order_by="filepath", port=0, auto=False)
    with pytest.raises(ValidationError, match="Dataset or a View"):
        ll.review("to-review", port=0, auto=False)


def test_cli_review_serves_the_queue(dataset: ll.Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    answers: list[dict] = []
    monkeypatch.setattr(Session, "wait",
                        lambda session, timeout=None: answers.append(queue_of(session, dataset)))
    result = CliRunner().invoke(cli, ["review", "to-review", "--order-by", "mistakenness", "--port", "0",
                                      "--no-browser"])
    assert result.exit_code == 0, result.output
    assert "#review?field=ground_truth&order=mistakenness" in result.output
    assert len(answers[0]["samples"]) == 4
    bad = CliRunner().invoke(cli, ["review", "to-review", "--label-field", "nope", "--port", "0",
                                   "--no-browser"])
    assert bad.exit_code == 1 and "nope" in bad.output
