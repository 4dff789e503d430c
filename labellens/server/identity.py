"""Who is deciding: reviewer names, the name a reviewer's token carries, and ``GET /api/whoami``.

An App launched with named reviewers gives each reviewer a secret token; the
guard in :mod:`labellens.server.app` puts the name of the reviewer whose token a
request carries in ``scope[REVIEWER_SCOPE_KEY]``, and the review routes record
that name in the label history (a ``reviewer`` sent in a request body is then
ignored). Without reviewer tokens the key is absent.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from labellens.errors import ValidationError

REVIEWER_SCOPE_KEY = "labellens.reviewer"
MAX_REVIEWER_NAME = 64


def check_reviewer_name(name: object) -> str:
    """``name`` if it is a reviewer name: 1-64 printable characters, else a ValidationError."""
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_REVIEWER_NAME or not name.isprintable():
        raise ValidationError(f"a reviewer name is 1-{MAX_REVIEWER_NAME} printable characters, got {name!r}")
    return name


def check_reviewer_names(names: Iterable[object]) -> list[str]:
    """The names, each checked by :func:`check_reviewer_name`; at least one, no name twice."""
    if isinstance(names, (str, bytes)):
        raise ValidationError("reviewers takes a list of names, not one string; e.g. ['alice', 'bob']")
    checked = [check_reviewer_name(name) for name in names]
    if not checked:
        raise ValidationError("reviewers needs at least one name")
    repeated = sorted({name for name in checked if checked.count(name) > 1})
    if repeated:
        raise ValidationError(f"reviewer names must be unique; given more than once: {', '.join(repeated)}")
    return checked


def reviewer_of(request: Request) -> str | None:
    """The name the request's reviewer token carries, or None when no token names a reviewer."""
    name = request.scope.get(REVIEWER_SCOPE_KEY)
    return name if isinstance(name, str) else None


async def whoami(request: Request) -> Response:
    """``GET /api/whoami``: ``{"reviewer": name}`` of the request's reviewer token, else ``null``."""
    return JSONResponse({"reviewer": reviewer_of(request)})


ROUTES = [Route("/api/whoami", whoami)]
