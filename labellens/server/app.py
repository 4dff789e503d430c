"""The App's ASGI application: routes, security checks and JSON errors, built per call.

``create_app()`` returns a Starlette app that holds everything it needs on
``app.state`` (no module globals), so a test, a session and the CLI can each
run their own. Security, in order of the checks each request meets:

- a token, when one is set (required to bind beyond 127.0.0.1, and whenever there
  are named reviewers), must come with every request as ``?token=`` or the
  ``X-LabelLens-Token`` header; a reviewer's token also says who decides
  (:mod:`labellens.server.identity`);
- without a token only loopback host names are accepted (no DNS rebinding);
- requests that write must send JSON (a plain HTML form on another site cannot);
- responses forbid loading anything from other origins (Content-Security-Policy).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from labellens.db.aio import AsyncData, open_data
from labellens.errors import (
    ConflictError,
    DatabaseUnavailableError,
    FieldNotFoundError,
    LabelLensError,
    NotFoundError,
    QueryTimeoutError,
    ValidationError,
)
from labellens.server import identity, limits, media, routes, routes_panels, routes_review, routes_session
from labellens.server.state import AppState, ServerContext

STATIC_DIR = Path(__file__).with_name("static")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
TOKEN_HEADER = b"x-labellens-token"
SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
     b"connect-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]

log = logging.getLogger("labellens.server")


def create_app(state: AppState | None = None, *, token: str | None = None,
               reviewers: Mapping[str, str] | None = None, cache_dir: str | Path | None = None,
               data: AsyncData | None = None, max_body_bytes: int | None = None,
               query_timeout: float | None = None) -> Starlette:
    """A new App server (ASGI) showing ``state`` (default: no dataset chosen yet).

    Parameters
    ----------
    state
        The session state to serve; a Session passes its own to push live updates.
    token
        A secret every request must carry (``?token=`` or the ``X-LabelLens-Token``
        header). Required when the server is reachable from other machines.
    reviewers
        ``{token: reviewer name}``: each reviewer's own secret. A request with one
        is accepted (like ``token``) and its decisions are recorded under that name;
        with reviewers every request needs a token, on loopback too.
    cache_dir
        Where thumbnails of large images are cached (default:
        :func:`labellens.server.media.default_cache_dir`).
    data
        The async data access (default: the configured database).
    max_body_bytes
        The largest request body accepted; larger ones are answered 413 unread
        (default: ``LABELLENS_MAX_BODY_BYTES``, else 1 MiB; :mod:`labellens.server.limits`).
    query_timeout
        Seconds each query of a request may run before the database stops it and the
        App answers 504 (default: ``LABELLENS_QUERY_TIMEOUT``, else 30).
    """
    reviewer_tokens = _reviewer_tokens(reviewers or {}, token)
    context = ServerContext(state=state or AppState(), data=data or open_data(),
                            cache_dir=Path(cache_dir) if cache_dir else media.default_cache_dir())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        context.state.close_streams()
        await context.data.close()

    app = Starlette(
        routes=[
            Route("/", _index),
            *routes.ROUTES,
            *routes_session.ROUTES,
            *routes_review.ROUTES,
            *routes_panels.ROUTES,
            *identity.ROUTES,
            Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
        ],
        exception_handlers={LabelLensError: _labellens_error, HTTPException: _http_error,
                            Exception: _unexpected_error},
        lifespan=lifespan,
    )
    app.state.labellens = context
    app.add_middleware(limits.Limits, max_body_bytes=limits.max_body_bytes(max_body_bytes),
                       query_timeout=limits.query_timeout(query_timeout))
    app.add_middleware(_Guard, token=token, reviewers=reviewer_tokens)
    return app


async def _index(request: Request) -> Response:
    return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


def error_response(status: int, message: str) -> JSONResponse:
    """The JSON body of every error: ``{"error": message, "status": status}``."""
    return JSONResponse({"error": message, "status": status}, status_code=status)


async def _labellens_error(request: Request, exc: Exception) -> Response:
    # A missing dataset, sample, saved view, run or index is 404; a field a request names that
    # the schema lacks is a bad request (400), like every other invalid view.
    if isinstance(exc, NotFoundError) and not isinstance(exc, FieldNotFoundError):
        status = 404
    elif isinstance(exc, DatabaseUnavailableError):
        status = 503
    elif isinstance(exc, QueryTimeoutError):
        status = 504
    elif isinstance(exc, ConflictError):
        status = 409
    else:
        status = 400
    return error_response(status, str(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error_response(exc.status_code, exc.detail)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error serving %s", request.url.path, exc_info=exc)
    return error_response(500, "internal error in the labellens server; see its log")


def _reviewer_tokens(reviewers: Mapping[str, str], token: str | None) -> dict[str, str]:
    if not isinstance(reviewers, Mapping):
        raise ValidationError("reviewers takes a mapping {token: reviewer name}")
    for secret in reviewers:
        if not isinstance(secret, str) or not secret or secret == token:
            raise ValidationError("each reviewer needs a token of its own: a non-empty string, not the "
                                  "App's token")
    if reviewers:
        identity.check_reviewer_names(reviewers.values())
    return dict(reviewers)


class _Guard:
    """Pure ASGI middleware: token and host checks, JSON-only writes, headers, Server-Timing.

    The App's ``token`` and each reviewer's token are all accepted; a request that
    carries a reviewer's token gets the reviewer's name in
    ``scope["labellens.reviewer"]``. A token given in the URL or header is also set
    as an HttpOnly cookie named after that token, so the page's own requests
    (scripts, images) carry it too. Two reviewers in one browser profile then hold
    two cookies: a request that carries only cookies of different identities may
    read but not write (the App's pages send their own token with every write).
    """

    def __init__(self, app: ASGIApp, token: str | None, reviewers: Mapping[str, str]) -> None:
        self.app = app
        self.names: dict[str, str | None] = {**({token: None} if token else {}), **reviewers}
        self.cookies = {_cookie_name(secret): secret for secret in self.names}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        sent = _token_of(scope, headers)
        given = self._match(sent)
        held = self._cookie_tokens(headers)
        # the token sent with the request counts, else every token its cookies hold
        proven = held if sent is None else [given] if given is not None else []
        refusal = self._refusal(scope, headers, proven)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        set_cookie = given is not None and given not in held
        names = {self.names[secret] for secret in proven}
        name = names.pop() if len(names) == 1 else None
        if name is not None:
            scope = {**scope, identity.REVIEWER_SCOPE_KEY: name}
        started = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                elapsed = (time.perf_counter() - started) * 1000
                extra = [*SECURITY_HEADERS, (b"server-timing", f"app;dur={elapsed:.2f}".encode())]
                if set_cookie:
                    extra.append((b"set-cookie", f"{_cookie_name(given)}={given}; HttpOnly; "
                                                 "SameSite=Strict; Path=/".encode()))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _refusal(self, scope: Scope, headers: dict[bytes, bytes], proven: list[str]) -> Response | None:
        writes = scope["method"] not in ("GET", "HEAD", "OPTIONS")
        if self.names:
            if not proven:
                return error_response(401, "this App needs its token: open the URL the session printed "
                                           "for you, which ends in ?token=...")
            if writes and len({self.names[secret] for secret in proven}) > 1:
                return error_response(401, "this browser holds the tokens of several reviewers: send yours "
                                           "with the request (X-LabelLens-Token), or use the App from "
                                           "the tab of your own URL")
        elif _host_name(headers.get(b"host", b"").decode("latin-1")) not in LOOPBACK_HOSTS:
            return error_response(403, "this App only answers on 127.0.0.1 / localhost; to serve other "
                                       "machines launch it with an address and use the token URL")
        if writes:
            kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            if kind != b"application/json":
                return error_response(415, "send requests that change data as application/json")
        return None

    def _match(self, given: str | None) -> str | None:
        """The known token equal to ``given`` (each compared in constant time), or None."""
        if given is None:
            return None
        found = None
        for secret in self.names:
            if hmac.compare_digest(given.encode(), secret.encode()):
                found = secret
        return found

    def _cookie_tokens(self, headers: dict[bytes, bytes]) -> list[str]:
        """The known tokens the request's cookies hold."""
        cookies = SimpleCookie()
        try:
            cookies.load(headers.get(b"cookie", b"").decode("latin-1"))
        except CookieError:
            return []
        return [secret for cookie, secret in self.cookies.items()
                if cookie in cookies and hmac.compare_digest(cookies[cookie].value.encode(), secret.encode())]


def _cookie_name(token: str) -> str:
    return f"labellens_{hashlib.sha256(token.encode()).hexdigest()[:12]}"


def _token_of(scope: Scope, headers: dict[bytes, bytes]) -> str | None:
    if TOKEN_HEADER in headers:
        return headers[TOKEN_HEADER].decode("latin-1")
    values: Sequence[str] = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [])
    return values[0] if values else None


def _host_name(host: str) -> str:
    if host.startswith("["):
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host
