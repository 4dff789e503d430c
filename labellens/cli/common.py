"""Helpers shared by the CLI commands: error reporting and optional modules.

Every :class:`~labellens.errors.LabelLensError` (and an ``OSError`` from the
file system) raised by a command becomes one ``Error: ...`` line on stderr and
exit code 1, never a traceback.
"""

from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType
from typing import Any

import click

from labellens.errors import LabelLensError, MissingDependencyError

INSTALL_HINT = {
    "torch": "pip install 'labellens[torch]'",
    "torchvision": "pip install 'labellens[torch]'",
    "sklearn": "pip install scikit-learn",
}


class LabelLensGroup(click.Group):
    """A click group that reports labellens errors as one clear line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LabelLensError as exc:
            raise click.ClickException(str(exc) or type(exc).__name__) from None
        except BrokenPipeError:
            # The reader went away (``labellens zoo models | head``): stop quietly.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise SystemExit(1) from None
        except OSError as exc:
            where = f": {exc.filename}" if exc.filename else ""
            raise click.ClickException(f"{exc.strerror or exc}{where}") from None


def require(module: str, name: str) -> Any:
    """``module.name`` from an optional part of labellens (brain, zoo, the App), imported on use.

    These parts pull in torch or a web server, so commands that do not need them
    start fast; a missing dependency becomes a MissingDependencyError naming the fix.
    """
    loaded = _import(module)
    if not hasattr(loaded, name):
        raise MissingDependencyError(f"{module}.{name} is not available in this installation of labellens")
    return getattr(loaded, name)


def _import(module: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing in INSTALL_HINT:
            raise MissingDependencyError(
                f"{module} needs {missing}; install it with `{INSTALL_HINT[missing]}`") from None
        raise MissingDependencyError(
            f"{module} is not available in this installation of labellens ({exc})") from None


def echo_table(rows: list[tuple[str, ...]], header: tuple[str, ...] | None = None) -> None:
    """Print rows as left-aligned columns."""
    table = [header, *rows] if header else rows
    if not table:
        return
    widths = [max(len(str(row[i])) for row in table) for i in range(len(table[0]))]
    for row in table:
        click.echo("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip())
