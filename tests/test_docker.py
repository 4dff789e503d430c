"""docker/: the compose file's structure and the Dockerfile's syntax (no Docker engine runs here).

The compose file is checked with yamllint and against what it must say (mongo:7
with a named volume and a healthcheck; the App waiting for a healthy mongo and
pointed at it); the Dockerfile with hadolint, and its command with the real CLI.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from labellens.cli.main import cli

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
BIN = Path(sys.executable).parent
YAMLLINT_CONFIG = "{extends: default, rules: {line-length: {max: 110}, document-start: disable}}"


def _tool(name: str) -> str:
    path = BIN / name if (BIN / name).exists() else shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; pip install -e '.[dev]'")
    return str(path)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def test_compose_passes_yamllint() -> None:
    result = subprocess.run([_tool("yamllint"), "-f", "parsable", "-d", YAMLLINT_CONFIG,
                             str(DOCKER / "compose.yaml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mongo_service(compose: dict) -> None:
    mongo = compose["services"]["mongo"]
    assert mongo["image"] == "mongo:7"
    volume, _, target = mongo["volumes"][0].partition(":")
    assert volume in compose["volumes"] and target == "/data/db"
    check = mongo["healthcheck"]
    assert check["test"][0] == "CMD" and "ping" in " ".join(check["test"])
    assert {"interval", "timeout", "retries"} <= set(check)


def test_app_service_waits_for_a_healthy_mongo(compose: dict) -> None:
    app = compose["services"]["app"]
    assert app["depends_on"] == {"mongo": {"condition": "service_healthy"}}
    assert app["environment"]["LABELLENS_DATABASE_URI"] == "mongodb://mongo:27017/"
    build = app["build"]
    context = (DOCKER / build["context"]).resolve()
    assert context == ROOT and (context / build["dockerfile"]).is_file()
    assert any(port.startswith("127.0.0.1:") and port.endswith(":5151") for port in app["ports"])


def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run([_tool("hadolint"), "--no-color", str(DOCKER / "Dockerfile")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_copies_existing_files_and_runs_a_real_command() -> None:
    lines = (DOCKER / "Dockerfile").read_text().splitlines()
    copies = [line.split()[1:-1] for line in lines if line.startswith("COPY ")]
    for source in (s for sources in copies for s in sources):
        assert (ROOT / source).exists(), source
    entrypoint = json.loads(next(line for line in lines if line.startswith("ENTRYPOINT "))[11:])
    command = json.loads(next(line for line in lines if line.startswith("CMD "))[4:])
    assert entrypoint == ["labellens"]
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "EXPOSE 5151" in lines and "--port" in command and "5151" in command
