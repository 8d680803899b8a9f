"""Cloudflare's published edge ranges, as dated data (no network: edgedoctor never fetches it).

Source: Cloudflare's `GET https://api.cloudflare.com/client/v4/ips` (also
https://www.cloudflare.com/ips-v4 and /ips-v6), as mirrored in the MISP warninglist
`lists/cloudflare/list.json` version 20261014. The list changes rarely but does change
(older lists had 104.16.0.0/12 and 199.27.128.0/21): refresh RANGES and AS_OF together.
"""

from __future__ import annotations

import ipaddress

AS_OF = "2026-10-14"
SOURCE = "https://api.cloudflare.com/client/v4/ips (MISP warninglist cloudflare, version 20261014)"

IPV4 = (
    "173.245.48.0/20",
    "103.21.244.0/22",
    "103.22.200.0/22",
    "103.31.4.0/22",
    "141.101.64.0/18",
    "108.162.192.0/18",
    "190.93.240.0/20",
    "188.114.96.0/20",
    "197.234.240.0/22",
    "198.41.128.0/17",
    "162.158.0.0/15",
    "104.16.0.0/13",
    "104.24.0.0/14",
    "172.64.0.0/13",
    "131.0.72.0/22",
)
IPV6 = (
    "2400:cb00::/32",
    "2606:4700::/32",
    "2803:f800::/32",
    "2405:b500::/32",
    "2405:8100::/32",
    "2a06:98c0::/29",
    "2c0f:f248::/32",
)

_NETWORKS = tuple(ipaddress.ip_network(n) for n in IPV4 + IPV6)


def cloudflare_range(address: str) -> str | None:
    """The Cloudflare range `address` falls in, or None (also for non-IP strings)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    for net in _NETWORKS:
        if ip.version == net.version and ip in net:
            return str(net)
    return None
