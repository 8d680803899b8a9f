"""RFC 3339 times as Kubernetes, recordings and --now write them: the one parser and
the one formatter of the package (pure)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def parse_rfc3339(text: Any, *, assume_utc: bool = True) -> datetime | None:
    """The instant in `text` (`Z`/`z` or an offset), or None when it is not a time.

    A time without a zone is UTC when `assume_utc` (what the API server writes is UTC),
    else None: user input must say its zone.
    """
    if not isinstance(text, str) or not text.strip():
        return None
    t = text.strip()
    if t.endswith(("Z", "z")):
        t = t[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(t)
    except ValueError:
        return None
    if dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc) if assume_utc else None
    return dt


def format_utc(dt: datetime) -> str:
    """`2026-12-02T03:00:00Z` (a naive datetime is taken as UTC)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).strftime(UTC_FORMAT)


def utc_now() -> str:
    return format_utc(datetime.now(timezone.utc))


def time_left(seconds: float) -> str:
    """How long a certificate has left, rounded one way everywhere (down: never more than
    is left): `12 days`, `1 day 5 hours` under two days, `40 minutes` under an hour."""
    secs = int(seconds)
    if secs < 0:
        return "expired"
    days, rest = divmod(secs, 86400)
    hours = rest // 3600
    if days >= 2:
        return f"{days} days"
    if days == 1:
        return f"1 day {hours} hour{'s' if hours != 1 else ''}"
    if hours:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{rest // 60} minutes"
