"""What a request to the API server that gave no answer becomes: one ApiFailure, classified
(http / timeout / connect / internal) with a one-line message for the user, whatever the
kubernetes client or urllib3 raised."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any


@dataclass
class ApiFailure(Exception):
    """One request that did not give an answer, classified for the user."""

    what: str  # "http" | "timeout" | "connect" | "internal"
    message: str
    status: int = 0


def status_message(body: Any) -> str:
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not isinstance(body, str) or not body.strip():
        return ""
    try:
        doc = json.loads(body)
    except ValueError:
        return " ".join(body.split())[:300]
    if isinstance(doc, dict) and isinstance(doc.get("message"), str):
        return " ".join(doc["message"].split())[:300]
    return ""


_OBJECT_REPR = re.compile(r"<[^<>]* object at 0x[0-9a-f]+>:?\s*|HTTPS?Connection\([^)]*\):\s*")
_ERRNO = re.compile(r"\[Errno -?\d+\]\s*")


def _why(e: BaseException) -> str:
    text = _OBJECT_REPR.sub("", str(e))
    text = text.replace("Failed to establish a new connection: ", "")
    text = _ERRNO.sub("", text)
    text = " ".join(text.split())
    return text[:300] or type(e).__name__


def classify_error(e: BaseException) -> ApiFailure:
    """Map whatever the client raised to http / timeout / connect."""
    if isinstance(e, ApiFailure):
        return e
    import urllib3.exceptions as u3
    from kubernetes.client.exceptions import ApiException

    if isinstance(e, ApiException):
        if e.status:
            message = status_message(e.body) or str(e.reason or "")
            return ApiFailure("http", message, int(e.status))
        # rest.py wraps TLS failures as status 0 "SSLError\n<detail>".
        return ApiFailure("connect", "TLS error: " + " ".join(str(e.reason).split()[1:])[:300])
    if isinstance(e, u3.MaxRetryError) and e.reason is not None:
        e = e.reason
    # Order matters: in urllib3, NameResolutionError < NewConnectionError < ConnectTimeoutError.
    if isinstance(e, u3.NameResolutionError):
        return ApiFailure("connect", "cannot resolve the server name: " + _why(e))
    if isinstance(e, u3.NewConnectionError):
        return ApiFailure("connect", _why(e))
    if isinstance(e, u3.ConnectTimeoutError):
        return ApiFailure("connect", "connection timed out")
    if isinstance(e, (u3.ReadTimeoutError, TimeoutError)):
        return ApiFailure("timeout", "timed out")
    if isinstance(e, u3.SSLError):
        return ApiFailure("connect", "TLS error: " + _why(e))
    if isinstance(e, ConnectionError):
        return ApiFailure("connect", _why(e))
    if isinstance(e, u3.ProtocolError):
        inner = e.args[1] if len(e.args) > 1 and isinstance(e.args[1], BaseException) else None
        if isinstance(inner, TimeoutError):
            return ApiFailure("timeout", "timed out")
        return ApiFailure("connect", "connection broken: " + _why(inner or e))
    if isinstance(e, u3.HTTPError):
        return ApiFailure("connect", _why(e))
    # Not a cluster condition but a bug or a credential plugin failing mid-read:
    # shown as an error result rather than a traceback that hides the rest.
    return ApiFailure("internal", f"internal error: {type(e).__name__}: {_why(e)}"[:300])
