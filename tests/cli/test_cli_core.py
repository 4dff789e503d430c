"""The ``labellens`` command line: help, datasets, export/import, db, and one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from PIL import Image

import labellens as ll
from labellens.cli.main import cli
from labellens.db import config

LABELLENS = Path(sys.executable).with_name("labellens")


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


@pytest.mark.parametrize("path", _commands(cli), ids=lambda p: " ".join(p) or "labellens")
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.output and "--help" in result.output


def test_the_required_commands_exist() -> None:
    names = {" ".join(p) for p in _commands(cli)}
    assert {"datasets list", "datasets info", "datasets delete", "datasets export", "app launch", "demo",
            "brain mistakenness", "brain label-issues", "zoo datasets", "zoo models", "zoo download",
            "db status", "db start", "db stop"} <= names


@pytest.fixture
def pets(backend: str, tmp_path: Path) -> ll.Dataset:
    """A persistent dataset of four images with labels, predictions and a score."""
    samples = []
    for i in range(4):
        path = tmp_path / f"{i}.png"
        Image.new("RGB", (4, 4)).save(path)
        samples.append(ll.Sample(filepath=str(path), ground_truth=ll.Classification(label="cat"),
                                 pred=ll.Classification(label=["cat", "dog"][i % 2], confidence=0.9)))
    ds = ll.Dataset("pets", persistent=True)
    ds.default_classes = ["cat", "dog"]
    ds.add_samples(samples)
    ds.set_values("mistakenness", [0.1, 0.9, 0.2, 0.8])
    return ds


def test_datasets_list_info_delete(pets: ll.Dataset) -> None:
    runner = CliRunner()
    listed = runner.invoke(cli, ["datasets", "list"])
    assert listed.exit_code == 0 and listed.output.split() == ["pets"]
    long = runner.invoke(cli, ["datasets", "list", "--long"])
    assert "pets" in long.output and "4" in long.output
    info = runner.invoke(cli, ["datasets", "info", "pets"])
    assert info.exit_code == 0
    assert "Num samples:    4" in info.output and "mistakenness" in info.output
    assert "['cat', 'dog']" in info.output
    refused = runner.invoke(cli, ["datasets", "delete", "pets"], input="n\n")
    assert refused.exit_code == 1 and ll.dataset_exists("pets")
    deleted = runner.invoke(cli, ["datasets", "delete", "pets", "--yes"])
    assert deleted.exit_code == 0 and not ll.dataset_exists("pets")


def test_export_then_import_labels(pets: ll.Dataset, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "review"
    result = runner.invoke(cli, ["datasets", "export", "pets", str(out), "--pred-field", "pred",
                                 "--score-field", "mistakenness", "--sort-by", "mistakenness",
                                 "--limit", "2"])
    assert result.exit_code == 0, result.output
    assert "exported 2 samples" in result.output
    lines = (out / "labels.csv").read_text().splitlines()
    assert lines[0] == "id,filepath,label,prediction,confidence,mistakenness"
    assert [line.split(",")[-1] for line in lines[1:]] == ["0.9", "0.8"]
    (out / "labels.csv").write_text("\n".join([lines[0], lines[1].replace(",cat,dog,", ",dog,dog,")]))
    imported = runner.invoke(cli, ["datasets", "import-labels", "pets", str(out)])
    assert imported.exit_code == 0, imported.output
    assert "1 changed" in imported.output
    assert pets.match_tags("reviewed").values("ground_truth.label") == ["dog"]


@pytest.mark.parametrize("args, message", [
    (["datasets", "info", "nope"], "no dataset named 'nope'"),
    (["datasets", "export", "pets", "{tmp}/x", "--pred-field", "missing"], "no field 'missing'"),
    (["datasets", "export", "pets", "{tmp}/x", "--sort-by", "missing"], "missing"),
    (["brain", "mistakenness", "nope", "--pred-field", "pred"], "nope"),
])
def test_errors_are_one_line_and_exit_1(pets: ll.Dataset, tmp_path: Path, args: list[str],
                                        message: str) -> None:
    result = CliRunner().invoke(cli, [a.replace("{tmp}", str(tmp_path)) for a in args])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_db_status_pings_the_configured_server(backend: str) -> None:
    result = CliRunner().invoke(cli, ["db", "status"])
    assert result.exit_code == 0, result.output
    # The session's mongod asks for a password: the status shows its URI with the password as ***.
    assert config.redact(os.environ["LABELLENS_DATABASE_URI"]) in result.output
    assert "reachable" in result.output
    refused = CliRunner().invoke(cli, ["db", "start"])
    assert refused.exit_code == 1 and "LABELLENS_DATABASE_URI is set" in refused.output


def test_db_status_of_an_unreachable_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABELLENS_DATABASE_URI", "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=200")
    result = CliRunner().invoke(cli, ["db", "status"])
    assert result.exit_code == 1 and "cannot reach MongoDB" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_db_start_status_stop_the_embedded_server(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    monkeypatch.delenv("LABELLENS_DATABASE_URI", raising=False)
    monkeypatch.setenv("LABELLENS_DATABASE_DIR", str(tmp_path / "mongo"))
    runner = CliRunner()
    assert "not running" in runner.invoke(cli, ["db", "status"]).output
    try:
        started = runner.invoke(cli, ["db", "start"])
        assert started.exit_code == 0, started.output
        status = runner.invoke(cli, ["db", "status"]).output
        assert "mongodb://labellens:***@127.0.0.1:" in status and "pid:" in status and str(tmp_path) in status
        assert "auth:      on" in status
    finally:
        stopped = runner.invoke(cli, ["db", "stop"])
    assert stopped.exit_code == 0 and "stopped" in stopped.output
    assert "not running" in runner.invoke(cli, ["db", "stop"]).output


def test_the_console_script(pets: ll.Dataset) -> None:
    """The installed ``labellens`` program, in a subprocess, sees the same database."""
    env = dict(os.environ)
    listed = subprocess.run([str(LABELLENS), "datasets", "list"], env=env, capture_output=True,
                            text=True, timeout=120)
    if env["LABELLENS_DATABASE_URI"].startswith("mongomock"):
        assert listed.returncode == 0 and listed.stdout == ""
    else:
        assert listed.returncode == 0 and listed.stdout.split() == ["pets"], listed.stderr
    failed = subprocess.run([str(LABELLENS), "datasets", "info", "nope"], env=env, capture_output=True,
                            text=True, timeout=120)
    assert failed.returncode == 1 and failed.stdout == ""
    assert failed.stderr.startswith("Error: no dataset named 'nope'")
    assert len(failed.stderr.strip().splitlines()) == 1
