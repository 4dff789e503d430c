"""One real Label Studio for the annotation tests: its own venv, a free port, a temp data dir.

The binary is ``$LABELLENS_LABEL_STUDIO_BIN`` or ``<repo>/.ls-venv/bin/label-studio`` (``.ci/run``
installs it). If it is missing or does not start, the tests fail with the reason; never skipped.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from labellens.db.mongod import free_port

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 240


@dataclass(frozen=True)
class LabelStudio:
    url: str
    token: str
    files_root: Path
    username: str


def _binary() -> Path:
    path = Path(os.environ.get("LABELLENS_LABEL_STUDIO_BIN", REPO / ".ls-venv" / "bin" / "label-studio"))
    if not path.exists():
        pytest.fail(f"Label Studio is not installed at {path}: run `python3 -m venv .ls-venv && "
                    ".ls-venv/bin/pip install label-studio` (what .ci/run does) or set "
                    "LABELLENS_LABEL_STUDIO_BIN",
                    pytrace=False)
    return path


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabelStudio]:
    """A Label Studio server on 127.0.0.1 with one user and a legacy API token, stopped at the end."""
    binary = _binary()
    base = tmp_path_factory.mktemp("label-studio")
    files_root = base / "files"
    files_root.mkdir()
    port = free_port()
    username = os.environ.get("LABELLENS_TEST_LS_USER", "annotator@example.com")
    password = os.environ.get("LABELLENS_TEST_LS_PASSWORD", secrets.token_hex(8))
    token = os.environ.get("LABELLENS_TEST_LS_TOKEN", secrets.token_hex(20))
    env = {**os.environ, "LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED": "true",
           "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT": str(files_root),
           "LABEL_STUDIO_BASE_DATA_DIR": str(base / "data"),
           "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true", "SENTRY_DSN": "", "FRONTEND_SENTRY_DSN": "",
           "COLLECT_ANALYTICS": "false", "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true"}
    log = open(base / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [str(binary), "start", "--no-browser", "--host", "127.0.0.1", "--port", str(port),
         "--data-dir", str(base / "data"), "--username", username, "--password", password,
         "--user-token", token],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url, token, proc, base / "server.log")
        yield LabelStudio(url, token, files_root, username)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


def _wait(url: str, token: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    last = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"Label Studio exited with {proc.returncode}:\n{log.read_text()[-3000:]}",
                        pytrace=False)
        req = urllib.request.Request(url + "/api/projects?page_size=1",
                                     headers={"Authorization": f"Token {token}"})
        try:
            with urllib.request.urlopen(req, timeout=5):
                return
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready yet"
            last = repr(exc)
        time.sleep(1)
    pytest.fail(f"Label Studio at {url} not ready after {START_TIMEOUT_S}s ({last}):\n"
                f"{log.read_text()[-3000:]}", pytrace=False)
