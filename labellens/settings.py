"""Process-wide settings: ``labellens.config``, the counterpart of FiftyOne's ``fo.config``.

``timezone``: the timezone datetimes read from the database are shown in. None (the
default, or ``LABELLENS_TIMEZONE`` unset) shows them in UTC; ``"local"`` in this
machine's timezone; any IANA name (``"Europe/Paris"``) in that one. Datetimes are
always stored in UTC and always come back timezone-aware, so comparing them is
never ambiguous; only how they print changes.
"""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo

from labellens.errors import ValidationError


class Config:
    """The settings, one attribute each; assigning one validates it."""

    __slots__ = ("_timezone", "_tzinfo")

    def __init__(self) -> None:
        self._timezone: str | None = None
        self._tzinfo: dt.tzinfo | None = None
        self.timezone = os.environ.get("LABELLENS_TIMEZONE") or None

    @property
    def timezone(self) -> str | None:
        """None (UTC), ``"local"`` or an IANA timezone name."""
        return self._timezone

    @timezone.setter
    def timezone(self, name: str | None) -> None:
        self._tzinfo = _tzinfo(name)
        self._timezone = name

    def tzinfo(self) -> dt.tzinfo | None:
        """The tzinfo datetimes are converted to when read, or None to leave them in UTC."""
        return self._tzinfo

    def __repr__(self) -> str:
        return f"labellens.config: timezone={self._timezone!r}"


def _tzinfo(name: str | None) -> dt.tzinfo | None:
    if name is None or name in ("UTC", "utc"):
        return None
    if name == "local":
        return dt.datetime.now().astimezone().tzinfo
    if isinstance(name, str):
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    raise ValidationError(f"config.timezone must be None (UTC), 'local' or an IANA timezone name such as "
                          f"'Europe/Paris', got {name!r}")


config = Config()
