"""mongomock is a test backend (the ``mock`` extra): not a core dependency, not loaded by core imports."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_mongomock_is_an_extra_that_dev_includes() -> None:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    names = [requirement.split(">")[0].split("=")[0].strip() for requirement in project["dependencies"]]
    assert "mongomock" not in names
    extras = project["optional-dependencies"]
    assert any(r.startswith("mongomock") for r in extras["mock"])
    assert any(r.startswith("mongomock") for r in extras["dev"])  # .ci/run installs .[torch,db,dev]


MISSING_MONGOMOCK = textwrap.dedent("""
    import sys
    sys.modules["mongomock"] = None  # what an install without the `mock` extra sees: ImportError
    import labellens as ll
    from labellens.errors import DatabaseUnavailableError
    try:
        ll.list_datasets()
    except DatabaseUnavailableError as exc:
        print(exc)
""")


def test_mongomock_without_the_mock_extra_says_which_extra_to_install(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABELLENS_DATABASE_URI", "mongomock://")
    result = subprocess.run([sys.executable, "-c", MISSING_MONGOMOCK], env=os.environ, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "pip install 'labellens[mock]'" in result.stdout


def test_the_core_imports_do_not_load_mongomock() -> None:
    code = ("import sys, labellens, labellens.db, labellens.server.app, labellens.cli.main; "
            "print('mongomock' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            timeout=120)
    assert result.stdout.strip() == "False"
