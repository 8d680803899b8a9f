"""Zone transfer (AXFR): every record of a zone, when its authoritative server allows it.

One TCP connection per server asked, one deadline. Never raises for a network or DNS
failure: a refused transfer is an ordinary answer ({"ok": False, "error_kind": "refused"}),
which is what most public zones say; the sweep then simply has no zone-wide view.
"""

from __future__ import annotations

import time
from typing import Any

from edgedoctor.probes.guard import DestinationRefused, check_destination


def _rdata_text(rdata: Any) -> str:
    return rdata.to_text()


def transfer_zone(zone: str, server: tuple[str, int], timeout: float = 5.0) -> dict[str, Any]:
    """{"zone", "server", "ok", "error", "error_kind", "records": [{name, type, ttl, value}], "elapsed_ms"}.

    Record names are absolute without the trailing dot; TXT values keep their quotes as
    dig prints them.
    """
    import dns.exception
    import dns.name
    import dns.query
    import dns.rcode
    import dns.rdatatype
    import dns.xfr
    import dns.zone

    address, port = server
    origin = zone.rstrip(".").lower()
    out: dict[str, Any] = {"zone": origin, "server": f"{address}:{port}", "ok": False, "error": None,
                           "error_kind": None, "records": [], "elapsed_ms": None}
    started = time.monotonic()
    try:
        check_destination(address)
        z = dns.zone.Zone(dns.name.from_text(origin))
        dns.query.inbound_xfr(address, z, port=port, timeout=timeout, lifetime=timeout)
    except DestinationRefused as e:
        out.update(error=str(e), error_kind="refused-destination")
    except dns.xfr.TransferError as e:
        kind = "refused" if e.rcode in (dns.rcode.REFUSED, dns.rcode.NOTAUTH) else "error"
        out.update(error=f"zone transfer of {origin} from {out['server']}: {dns.rcode.to_text(e.rcode)}", error_kind=kind)
    except dns.exception.Timeout:
        out.update(error=f"zone transfer of {origin} from {out['server']}: timed out after {timeout:.1f}s", error_kind="timeout")
    except (OSError, EOFError, dns.exception.DNSException) as e:
        # A server that closes the connection is how many refuse a transfer without an rcode.
        kind = "refused" if isinstance(e, (ConnectionResetError, EOFError)) else "error"
        out.update(error=f"zone transfer of {origin} from {out['server']}: {type(e).__name__}: {e}", error_kind=kind)
    else:
        records = []
        for name, node in z.nodes.items():
            fq = name.derelativize(z.origin).to_text().rstrip(".").lower()
            for rds in node.rdatasets:
                for rd in rds:
                    records.append({"name": fq, "type": dns.rdatatype.to_text(rds.rdtype), "ttl": rds.ttl,
                                    "value": _rdata_text(rd)})
        records.sort(key=lambda r: (r["name"], r["type"], r["value"]))
        out.update(ok=True, records=records)
    out["elapsed_ms"] = round((time.monotonic() - started) * 1000, 1)
    return out
