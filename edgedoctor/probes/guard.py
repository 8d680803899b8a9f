"""A fence for test runs: with EDGEDOCTOR_LOOPBACK_ONLY=1 no probe contacts an address
outside 127.0.0.0/8 or ::1. The test suite sets it, so a scenario whose Gateway or DNS
answer names a real-looking address can never send traffic off this machine."""

from __future__ import annotations

import ipaddress
import os


class DestinationRefused(OSError):
    pass


def check_destination(address: str) -> None:
    if os.environ.get("EDGEDOCTOR_LOOPBACK_ONLY") not in ("1", "true", "yes"):
        return
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        raise DestinationRefused(f"EDGEDOCTOR_LOOPBACK_ONLY: {address} is not a loopback address") from None
    if not ip.is_loopback:
        raise DestinationRefused(f"EDGEDOCTOR_LOOPBACK_ONLY: refusing to contact {address}")
