"""Database settings read from the environment.

- ``LABELLENS_DATABASE_URI``: any MongoDB URI; ``mongomock://`` selects an
  in-memory backend. Unset: labellens runs its own local ``mongod``.
- ``LABELLENS_DATABASE_NAME``: the database name (default ``labellens``).
- ``LABELLENS_DATABASE_DIR``: where the embedded ``mongod`` keeps its data and
  its credential file (default ``~/.labellens/var/lib/mongo``).
- ``LABELLENS_MONGOD``: path of the ``mongod`` binary to run.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

MOCK_URI = "mongomock://"
_PASSWORD = re.compile(r"^([a-z0-9+.-]+://[^/@:]*):[^/@]*@", re.IGNORECASE)
DEFAULT_DATABASE_NAME = "labellens"


def database_uri() -> str | None:
    """The configured URI, or None to use the embedded server."""
    return os.environ.get("LABELLENS_DATABASE_URI") or None


def database_name() -> str:
    return os.environ.get("LABELLENS_DATABASE_NAME") or DEFAULT_DATABASE_NAME


def database_dir() -> Path:
    configured = os.environ.get("LABELLENS_DATABASE_DIR")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".labellens" / "var" / "lib" / "mongo"


def mongod_override() -> str | None:
    return os.environ.get("LABELLENS_MONGOD") or None


def is_mock(uri: str | None) -> bool:
    return bool(uri) and uri.startswith("mongomock:")  # type: ignore[union-attr]


def redact(uri: str) -> str:
    """``uri`` for messages and output: a password in it becomes ``***``."""
    return _PASSWORD.sub(r"\1:***@", uri)
