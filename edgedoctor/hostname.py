"""The HOST argument: accept what people paste, reject what cannot be a hostname."""

from __future__ import annotations

import ipaddress
import re
import unicodedata

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


# The ports the TLS and HTTP probes use; a URL naming another one asks about something else.
_PROBED_PORTS = (443, 80)


class HostnameError(ValueError):
    """The message is one line for the user."""


def normalize_host(raw: str) -> str:
    """`https://App.Example.com:443/path` -> `app.example.com`; IDN -> A-labels."""
    if raw is None:
        raise HostnameError("no hostname given")
    _refuse_control(raw)
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
        if port and not (port.isascii() and port.isdigit()):
            raise HostnameError(f"{raw!r}: port {port!r} is not a number")
        if port and int(port) not in _PROBED_PORTS:
            # Dropping it silently would diagnose another endpoint than the one asked about.
            raise HostnameError(f"{raw!r}: port {int(port)} is not checked; edgedoctor checks the edge "
                                "on 443 (https) and 80 (http): give the name without the port")
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
    ascii_name = _to_alabels(raw, text)
    if len(ascii_name) > 253:
        raise HostnameError(f"hostname is {len(ascii_name)} octets long; the limit is 253")
    labels = ascii_name.split(".")
    for label in labels:
        if not label:
            raise HostnameError(f"{raw!r} has an empty label")
        if len(label) > 63:
            raise HostnameError(f"label {label[:20]}... is {len(label)} octets long; the limit is 63")
        if not _LABEL.fullmatch(label):
            bad = sorted({c for c in label if not (c.isalnum() or c == "-")})
            why = f"characters {''.join(bad)!r}" if bad else "a leading or trailing hyphen"
            raise HostnameError(f"{raw!r} has {why}, which cannot be in a hostname")
        if label.startswith("xn--"):
            _check_alabel(raw, label)
    if len(labels) == 1:
        raise HostnameError(f"{raw!r} is a single label; give a fully qualified name")
    if labels[-1].isdigit():
        raise HostnameError(f"{raw!r} is not a hostname (numeric top-level label)")
    return ascii_name


def _refuse_control(raw: str) -> None:
    """A newline or other control character is never part of a name: a pasted name that
    carries one was cut wrongly, and diagnosing what is left would be a guess."""
    for i, c in enumerate(raw):
        if unicodedata.category(c) in ("Cc", "Zl", "Zp"):
            raise HostnameError(f"the hostname holds a control character (U+{ord(c):04X} at position {i}); "
                                "give the name alone")


def _to_alabels(raw: str, text: str) -> str:
    """IDNA 2008 with the UTS 46 mapping, non-transitional: what today's browsers and
    resolvers send (`straße` stays `xn--strae-oqa`, not IDNA 2003's `strasse`)."""
    if text.isascii():
        return text.lower()
    import idna  # only for names that need it: the ASCII path stays import-free

    try:
        return idna.encode(text, uts46=True, transitional=False).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError) as e:
        raise HostnameError(f"{raw!r} is not a valid internationalised name (IDNA 2008): {e}") from None


def _check_alabel(raw: str, label: str) -> None:
    """An `xn--` label must decode to a valid U-label, or no resolver or browser takes it."""
    import idna

    try:
        idna.decode(label)
    except (idna.IDNAError, UnicodeError) as e:
        raise HostnameError(f"{raw!r}: {label} is not a valid A-label (IDNA 2008): {e}") from None
