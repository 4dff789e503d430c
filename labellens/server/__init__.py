"""The App server: an ASGI app serving datasets, views, media and live session updates."""

from labellens.server.app import create_app
from labellens.server.state import AppState

__all__ = ["AppState", "create_app"]
