"""``labellens app launch --reviewers``: one URL per reviewer, each naming its reviewer; bad names refused."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from labellens.cli.main import cli
from labellens.session import Session

PRINTED_URL = re.compile(r"^  (.+): (http://127\.0\.0\.1:\d+/\?token=\S+)$", re.MULTILINE)


def whoami(url: str) -> str | None:
    with urllib.request.urlopen(url.replace("/?", "/api/whoami?"), timeout=10) as response:
        return json.loads(response.read())["reviewer"]


def test_launch_prints_one_url_per_reviewer(backend: str, monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    answers: dict[str, str | None] = {}

    def ask_each(session: Session, timeout: float | None = None) -> None:  # while it serves
        answers.update({name: whoami(url) for name, url in session.reviewer_urls.items()})

    monkeypatch.setattr(Session, "wait", ask_each)
    names = tmp_path / "names.txt"
    names.write_text("carol\n\n  Dan O'Neil  \n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["app", "launch", "--port", "0", "--no-browser",
                                      "--reviewers", "alice, bob", "--reviewers-file", str(names)])
    assert result.exit_code == 0, result.output
    printed = dict(PRINTED_URL.findall(result.output))
    assert list(printed) == ["alice", "bob", "carol", "Dan O'Neil"]
    assert len(set(printed.values())) == 4
    assert answers == {name: name for name in printed}


def test_launch_without_reviewers_prints_no_reviewer_urls(backend: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Session, "wait", lambda session, timeout=None: None)
    result = CliRunner().invoke(cli, ["app", "launch", "--port", "0", "--no-browser"])
    assert result.exit_code == 0, result.output
    assert "Reviewer URLs" not in result.output and "token=" not in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["--reviewers", "alice,alice"], "given more than once: alice"),
    (["--reviewers", "alice,,bob"], "1-64 printable characters"),
    (["--reviewers", "x" * 65], "1-64 printable characters"),
    (["--reviewers", ""], "got ''"),
])
def test_launch_refuses_bad_reviewer_names(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["app", "launch", "--port", "0", "--no-browser", *args])
    assert result.exit_code == 2, result.output
    assert "--reviewers" in result.output and message in result.output
    assert "Traceback" not in result.output


def test_launch_refuses_a_bad_names_file(tmp_path: Path) -> None:
    tabbed = tmp_path / "tabbed.txt"
    tabbed.write_text("alice\nbob\tsmith\n", encoding="utf-8")
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe\x00a")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    for path, message in ((tabbed, "'bob\\tsmith'"), (binary, "not UTF-8"), (empty, "at least one name"),
                          (tmp_path / "missing.txt", "does not exist")):
        result = CliRunner().invoke(cli, ["app", "launch", "--no-browser", "--reviewers-file", str(path)])
        assert result.exit_code == 2, result.output
        assert message in result.output, result.output
