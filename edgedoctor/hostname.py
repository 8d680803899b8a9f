"""The HOST argument: accept what people paste, reject what cannot be a hostname."""

from __future__ import annotations

import ipaddress
import re

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class HostnameError(ValueError):
    """The message is one line for the user."""


def normalize_host(raw: str) -> str:
    """`https://App.Example.com:443/path` -> `app.example.com`; IDN -> A-labels."""
    if raw is None:
        raise HostnameError("no hostname given")
    text = raw.strip()
    if not text:
        raise HostnameError("empty hostname")
    if "://" in text:
        text = text.split("://", 1)[1]
    # userinfo, path, query and fragment are not part of the name
    text = text.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    if "@" in text:
        text = text.rsplit("@", 1)[1]
    if text.startswith("["):
        raise HostnameError(f"{raw!r} is an IP literal, not a hostname")
    if text.count(":") == 1:
        text, port = text.split(":", 1)
        if port and not port.isdigit():
            raise HostnameError(f"{raw!r}: port {port!r} is not a number")
    elif text.count(":") > 1:
        raise HostnameError(f"{raw!r} is an IP literal, not a hostname")
    if text.endswith("."):
        text = text[:-1]
    if not text:
        raise HostnameError(f"{raw!r} holds no hostname")
    try:
        ipaddress.ip_address(text)
    except ValueError:
        pass
    else:
        raise HostnameError(f"{raw!r} is an IP literal, not a hostname")
    if text.startswith("*."):
        raise HostnameError(f"{raw!r} is a wildcard; give a concrete hostname such as app.{text[2:]}")
    try:
        ascii_name = text.encode("ascii").decode("ascii").lower()
    except UnicodeEncodeError:
        try:
            ascii_name = text.encode("idna").decode("ascii").lower()
        except UnicodeError as e:
            raise HostnameError(f"{raw!r} is not a valid internationalised name: {e}") from None
    if len(ascii_name) > 253:
        raise HostnameError(f"hostname is {len(ascii_name)} octets long; the limit is 253")
    labels = ascii_name.split(".")
    for label in labels:
        if not label:
            raise HostnameError(f"{raw!r} has an empty label")
        if len(label) > 63:
            raise HostnameError(f"label {label[:20]}... is {len(label)} octets long; the limit is 63")
        if not _LABEL.match(label):
            bad = sorted({c for c in label if not (c.isalnum() or c == "-")})
            why = f"characters {''.join(bad)!r}" if bad else "a leading or trailing hyphen"
            raise HostnameError(f"{raw!r} has {why}, which cannot be in a hostname")
    if len(labels) == 1:
        raise HostnameError(f"{raw!r} is a single label; give a fully qualified name")
    if labels[-1].isdigit():
        raise HostnameError(f"{raw!r} is not a hostname (numeric top-level label)")
    return ascii_name
