"""Sessions: launch the App from Python and drive what every open browser tab shows.

``launch_app(dataset)`` serves the App with uvicorn in a background thread of
this process and returns a :class:`Session`; ``session.view = view`` then
updates every open tab at once (server-sent events). It works the same from a
script (``session.wait()`` keeps it alive), a REPL and a notebook (where the
App shows inline)::

    session = labellens.launch_app(dataset)
    session.view = dataset.match_tags("mistake")
    session.freeze()
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
import sys
import threading
import time
import webbrowser
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvicorn

from labellens.dataset import Dataset, View
from labellens.errors import ValidationError
from labellens.server import snapshot
from labellens.server.app import create_app
from labellens.server.identity import check_reviewer_names
from labellens.server.state import AppState

DEFAULT_PORT = 5151
LOCAL_ADDRESSES = ("127.0.0.1", "localhost", "::1")
START_TIMEOUT_S = 15.0
FREEZE_LIMIT = 64

_running: dict[int, Session] = {}
_running_lock = threading.Lock()


class Session:
    """A running App server and what it shows.

    Parameters
    ----------
    dataset_or_view
        What to show: a dataset, a view of one, or None (the browser offers a list).
    port
        The port to serve on (0 picks a free one). A session of this process that
        already holds the port is closed first.
    address
        The address to bind. Anything but a loopback address makes the server
        reachable from other machines, so it then requires a token (generated
        unless given), which ``url`` carries.
    auto
        Show the App at once: inline in a notebook, in a web browser otherwise
        (when this machine has a display).
    token
        The secret every request must carry; None for loopback addresses.
    reviewers
        Names of reviewers (1-64 printable characters each, unique). Each gets a
        URL with a secret token of its own (``reviewer_urls``), and the label
        history records the name from the token, whatever a request says. Every
        request then needs a token, on loopback too; ``url`` (the session's own
        token) records ``LABELLENS_REVIEWER`` / the OS user, so keep it to yourself.
    """

    def __init__(self, dataset_or_view: Dataset | View | None = None, *, port: int = DEFAULT_PORT,
                 address: str = "127.0.0.1", auto: bool = True, token: str | None = None,
                 reviewers: Sequence[str] | None = None, cache_dir: str | Path | None = None) -> None:
        names = check_reviewer_names(reviewers) if reviewers is not None else []
        if token is None and (names or address not in LOCAL_ADDRESSES):
            token = secrets.token_urlsafe(24)
        self._token = token
        self._reviewer_tokens = {name: secrets.token_urlsafe(24) for name in names}
        self._address = address
        self._state = AppState()
        self._view: View | None = None
        self._dataset: Dataset | None = None
        self._show(dataset_or_view)
        with _running_lock:
            previous = _running.get(port) if port else None
        if previous is not None:
            previous.close()
        sock = _bind(address, port)
        self._port = sock.getsockname()[1]
        app = create_app(self._state, token=token, cache_dir=cache_dir,
                         reviewers={secret: name for name, secret in self._reviewer_tokens.items()})
        config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name=f"labellens-app-{self._port}", daemon=True)
        self._thread.start()
        self._wait_started(sock)
        with _running_lock:
            _running[self._port] = self
        print(f"App launched. Point your browser to {self.url}")
        if names:
            print("Reviewer URLs (each records its reviewer's name; send each only to that reviewer):")
            for name, url in self.reviewer_urls.items():
                print(f"  {name}: {url}")
        if auto:
            self.show()

    # -- what the App shows ------------------------------------------------------------

    @property
    def dataset(self) -> Dataset | None:
        """The dataset shown (setting it shows the whole dataset)."""
        return self._dataset

    @dataset.setter
    def dataset(self, dataset: Dataset | None) -> None:
        if dataset is not None and not isinstance(dataset, Dataset):
            raise ValidationError("session.dataset takes a Dataset or None; use session.view for a view")
        self._show(dataset)

    @property
    def view(self) -> View | None:
        """The view shown, or None when the whole dataset is shown."""
        return self._view

    @view.setter
    def view(self, view: Dataset | View | None) -> None:
        self._show(self._dataset if view is None else view)

    def _show(self, value: Dataset | View | None) -> None:
        if value is None:
            self._dataset, self._view = None, None
            self._state.show(None, [])
        elif isinstance(value, Dataset):
            self._dataset, self._view = value, None
            self._state.show(value.name, [])
        elif isinstance(value, View):
            self._dataset, self._view = value.dataset, value
            self._state.show(value.dataset.name, value.to_json())
        else:
            raise ValidationError(f"the App shows a Dataset or a View, got {type(value).__name__}")

    @property
    def selected(self) -> list[str]:
        """The ids of the samples selected in the browser (the latest tab to change them)."""
        return self._state.selected

    @property
    def selected_view(self) -> View | None:
        """The selected samples as a view, or None when nothing is selected."""
        ids = self.selected
        if not ids or self._dataset is None:
            return None
        return self._dataset.select(ids)

    def refresh(self) -> None:
        """Make every open tab reload (after changing samples from Python)."""
        self._state.refresh()

    # -- the server ----------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The App's address (with the session's token, when one is required)."""
        return self._url_with(self._token)

    @property
    def reviewer_urls(self) -> dict[str, str]:
        """``{reviewer name: the App's address with that reviewer's token}`` (empty without reviewers)."""
        return {name: self._url_with(secret) for name, secret in self._reviewer_tokens.items()}

    def _url_with(self, token: str | None) -> str:
        host = self._address
        if host in ("0.0.0.0", "::", ""):
            host = socket.gethostname()
        elif ":" in host:
            host = f"[{host}]"
        query = f"?token={token}" if token else ""
        return f"http://{host}:{self._port}/{query}"

    @property
    def port(self) -> int:
        return self._port

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def show(self) -> None:
        """Open the App: inline in a notebook, else in a web browser when there is a display."""
        display = _notebook_display()
        if display is not None:
            display.display(display.IFrame(self.url, width="100%", height=800))
        elif _has_display():
            webbrowser.open(self.url, new=2)

    def open_tab(self) -> None:
        """Open the App in a new tab of the system's web browser."""
        webbrowser.open(self.url, new=2)

    def wait(self, timeout: float | None = None) -> None:
        """Block until the session is closed, ``timeout`` seconds pass, or Ctrl-C (which closes it).

        Scripts call this last so the App stays up while someone looks at it.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while self._thread.is_alive():
                if deadline is not None and time.monotonic() >= deadline:
                    return
                self._thread.join(0.25)
        except KeyboardInterrupt:
            self.close()

    def close(self) -> None:
        """Stop the server (open tabs lose their connection); safe to call twice."""
        self._state.close_streams()
        self._server.should_exit = True
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(10)
        with _running_lock:
            if _running.get(self._port) is self:
                del _running[self._port]

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- sharing ---------------------------------------------------------------------------

    def freeze(self, path: str | Path | None = None, *, limit: int = FREEZE_LIMIT) -> Path:
        """Save a static snapshot of what the App shows: HTML (default) or PNG (a ``.png`` path).

        The snapshot shows the first ``limit`` samples of the session's view, with
        the filters and sort chosen in the browser, and needs no server to open.
        In a notebook it is also displayed in place of the live App.

        Returns
        -------
        Path
            The file written (default: ``./labellens-<dataset>-<time>.html``).
        """
        if self._dataset is None:
            raise ValidationError("nothing to freeze: show a dataset first (session.dataset = ...)")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValidationError(f"limit must be a positive int, got {limit!r}")
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        default = Path.cwd() / f"labellens-{self._dataset.name}-{stamp}.html"
        target = Path(path) if path is not None else default
        shot = snapshot.collect(self._dataset, self._state.view, self._state.filters, limit)
        snapshot.write(shot, target)
        display = _notebook_display()
        if display is not None:
            if target.suffix.lower() == ".png":
                display.display(display.Image(filename=str(target)))
            else:
                display.display(display.HTML(target.read_text(encoding="utf-8")))
        return target

    def __repr__(self) -> str:
        shown = "whole dataset" if self._view is None else f"{len(self._view.stages)} stage(s)"
        name = self._dataset.name if self._dataset is not None else None
        return f"Session(url={self.url!r}, dataset={name!r}, view={shown}, running={self.running})"

    def _wait_started(self, sock: socket.socket) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._server.should_exit = True
                sock.close()
                raise ValidationError(f"the App server did not start on port {self._port}; "
                                      "see the log above, or try another port")
            time.sleep(0.02)


def launch_app(dataset_or_view: Dataset | View | None = None, port: int = DEFAULT_PORT,
               address: str = "127.0.0.1", *, auto: bool = True, **kwargs: Any) -> Session:
    """Launch the App showing a dataset or view and return its :class:`Session`.

    See :class:`Session` for the parameters; ``kwargs`` passes ``token``,
    ``reviewers`` and ``cache_dir`` through.
    """
    return Session(dataset_or_view, port=port, address=address, auto=auto, **kwargs)


def _bind(address: str, port: int) -> socket.socket:
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValidationError(f"port must be an int between 0 and 65535, got {port!r}")
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((address, port))
    except OSError as exc:
        sock.close()
        raise ValidationError(f"cannot serve the App on {address}:{port} ({exc.strerror}); "
                              "pass another port=..., or close the program using it") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _notebook_display() -> Any:
    """IPython's display module when running in a notebook kernel, else None."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or type(shell).__name__ not in ("ZMQInteractiveShell", "Shell"):
        return None
    return sys.modules.get("IPython.display")


def _has_display() -> bool:
    return sys.platform in ("darwin", "win32") or bool(os.environ.get("DISPLAY")
                                                       or os.environ.get("WAYLAND_DISPLAY"))
