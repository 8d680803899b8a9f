"""Record one scenario against real servers on loopback, then give it its public face.

For each scenario the rig starts BIND 9 twice (the zone's authoritative server and a
"resolver" holding what the resolvers answer, possibly older data), nginx on a loopback
address per Gateway address (serving the certificate the edge would serve, the redirect,
the app or the error Envoy would answer) and, where the edge drops connections, a small
TCP fault server. It writes the cluster as a kubectl-style snapshot and runs

    faketime -f @T  edgedoctor record HOST -o raw.yaml --snapshot cluster.yaml \
        --authoritative 127.0.0.1:P --nameserver 127.0.0.1:Q --ca-bundle root.pem --now T

so every DNS answer, handshake and HTTP response in the recording is what the probes
really saw, judged at the scenario's time T (faketime makes the probes' own certificate
checks happen at T too).

Then it makes the recording look like the incident and not like the rig, consistently:
loopback addresses become the scenario's public addresses everywhere (DNS answers, TLS
and HTTP endpoints, the cluster objects), the two DNS servers become their public
addresses on port 53, nginx's Server header becomes the edge's (envoy, cloudflare), the
random label of the wildcard probe and all timings become fixed values, the snapshot
read becomes a live read of the scenario's context, and DNS queries are put in a stable
order. Nothing else is touched.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from edgedoctor.kinds import KINDS  # noqa: E402
from edgedoctor.recording import read_recording_doc  # noqa: E402
from tests.servers.common import Process, free_port, require_binary, tcp_open, wait_until  # noqa: E402
from tests.servers.faults import TCPFault  # noqa: E402
from tests.servers.named import NamedServer  # noqa: E402

AUTH_PUBLIC = "198.51.100.53"  # the zone's authoritative server, as the engineer asked it
RESOLVER_PUBLIC = "1.1.1.1"  # the resolver the engineer asked
LOOPBACK_POOL = range(100, 255)  # gateway-side addresses come from 127.0.0.100-254; named keeps 127.0.0.1


@dataclass
class Site:
    """What answers at one public address, on 443 and 80."""

    address: str
    tls: str = "serve"  # serve | refuse | close (accepts, then closes: Envoy without a matching filter chain)
    cert: Any = None  # pki Issued served on 443
    sni_names: list[str] = field(default_factory=list)  # names the cert is served for; [] = any SNI
    https_status: int = 200
    https_body: str = ""
    https_location: str | None = None
    https_headers: dict[str, str] = field(default_factory=dict)
    http: str = "redirect"  # redirect | serve | refuse | close
    http_status: int = 200
    http_body: str = ""
    http_location: str | None = None  # for http == "redirect": default https://$host$request_uri
    http_headers: dict[str, str] = field(default_factory=dict)
    proxy_protocol: bool = False  # the listener expects a PROXY header (Envoy with PROXY enabled)
    server: str = "envoy"  # the Server header the edge sends


@dataclass
class World:
    zone: str
    records: list[tuple[str, int, str, str]] = field(default_factory=list)
    # What the resolver answers: None = the same as the authoritative data.
    resolver_records: list[tuple[str, int, str, str]] | None = None
    sites: list[Site] = field(default_factory=list)
    soa_ttl: int = 1800
    soa_minimum: int = 1800
    serial: int = 2391004812
    resolver_serial: int | None = None
    # The resolver's own SOA (mname, rname, ttl, minimum) when it is a server of its own,
    # such as the in-cluster k8s_gateway; None = it serves the public zone's data.
    resolver_soa: tuple[str, str, int, int] | None = None
    resolver_address: str = RESOLVER_PUBLIC
    offline: bool = False


def zone_file(origin: str, records: list[tuple[str, int, str, str]], *, serial: int, ttl: int, minimum: int,
              soa: tuple[str, str] = ("kim.ns.cloudflare.com.", "dns.cloudflare.com."), ns_address: str | None = None) -> str:
    """A zone as Cloudflare serves it (or as `soa` names): SOA and NS, negative TTL `minimum`."""
    mname, rname = soa
    ns = ["kim.ns.cloudflare.com.", "rob.ns.cloudflare.com."] if mname.endswith("cloudflare.com.") else [mname]
    lines = [
        f"$ORIGIN {origin}.",
        "$TTL 300",
        f"@ {ttl} IN SOA {mname} {rname} {serial} 10000 2400 604800 {minimum}",
        *(f"@ 86400 IN NS {n}" for n in ns),
    ]
    for n in ns:
        if n.endswith(f".{origin}.") and ns_address:
            lines.append(f"{n} {ttl} IN A {ns_address}")  # in-zone name server: BIND wants its address
    for name, rttl, rtype, value in records:
        lines.append(f"{name} {rttl} IN {rtype} {value}")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- nginx


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("$", "${dollar}")


class Edge:
    """nginx (and TCP fault servers) standing in for the Envoy fleet behind each address."""

    def __init__(self, workdir: Path, sites: list[Site], loop: dict[str, str]) -> None:
        self.workdir = workdir
        self.sites = sites
        self.loop = loop
        self.process: Process | None = None
        self.faults: list[TCPFault] = []

    def _location(self, status: int, body: str, headers: dict[str, str], location: str | None) -> str:
        adds = "".join(f'    add_header {k} "{_quote(v)}" always;\n' for k, v in headers.items())
        if status in (301, 302, 307, 308):
            return f"  location / {{\n{adds}    return {status} {location or 'https://$host$request_uri'};\n  }}\n"
        ctype = "text/html" if body.lstrip().startswith("<") else "text/plain"
        return (f"  location / {{\n    default_type {ctype};\n{adds}    return {status} \"{_quote(body)}\";\n  }}\n")

    def config(self) -> str:
        d = self.workdir
        servers = []
        for i, s in enumerate(self.sites):
            addr = self.loop[s.address]
            pp = " proxy_protocol" if s.proxy_protocol else ""
            if s.tls == "serve":
                crt, key = s.cert.write(d / "certs", f"site{i}")
                if s.sni_names:
                    servers.append(f"server {{\n  listen {addr}:443 ssl default_server{pp};\n  ssl_reject_handshake on;\n}}\n")
                names = " ".join(s.sni_names) or '""'
                default = "" if s.sni_names else " default_server"
                servers.append(
                    f"server {{\n  listen {addr}:443 ssl{default}{pp};\n  server_name {names};\n"
                    f"  ssl_certificate {crt};\n  ssl_certificate_key {key};\n"
                    + self._location(s.https_status, s.https_body, s.https_headers, s.https_location) + "}\n")
            if s.http in ("redirect", "serve"):
                status = 301 if s.http == "redirect" else s.http_status
                servers.append(
                    f"server {{\n  listen {addr}:80 default_server{pp};\n  server_name \"\";\n"
                    + self._location(status, s.http_body, s.http_headers, s.http_location) + "}\n")
        return (
            "worker_processes 1;\n"
            f"pid {d}/nginx.pid;\nerror_log {d}/error.log info;\n"
            "events { worker_connections 64; }\n"
            "http {\n  access_log off;\n  server_tokens off;\n"
            "  geo $dollar { default \"$\"; }\n"
            + "".join(f"  {k}_temp_path {d}/tmp/{k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
            + "  ssl_protocols TLSv1.2 TLSv1.3;\n"
            + "".join(servers) + "}\n"
        )

    def start(self) -> None:
        for s in self.sites:
            addr = self.loop[s.address]
            if s.tls == "close":
                self.faults.append(TCPFault("close", addr, 443))
            if s.http == "close":
                self.faults.append(TCPFault("close", addr, 80))
        needs_nginx = any(s.tls == "serve" or s.http in ("redirect", "serve") for s in self.sites)
        if not needs_nginx:
            return
        binary = require_binary("nginx", "Debian package nginx-light")
        (self.workdir / "tmp").mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "nginx.conf"
        conf.write_text(self.config())
        self.process = Process([binary, "-p", str(self.workdir), "-c", str(conf), "-e", str(self.workdir / "error.log"),
                                "-g", "daemon off;"], self.workdir / "nginx.out")
        ports = [(self.loop[s.address], 443) for s in self.sites if s.tls == "serve"]
        ports += [(self.loop[s.address], 80) for s in self.sites if s.http in ("redirect", "serve")]
        wait_until(lambda: all(tcp_open(a, p) for a, p in ports), 10, "nginx", self.workdir / "error.log", self.process.proc)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None
        for f in self.faults:
            f.stop()


# ----------------------------------------------------------------------------- recording


def _sub_addresses(text: str, mapping: dict[str, str]) -> str:
    for src, dst in sorted(mapping.items(), key=lambda kv: -len(kv[0])):
        text = re.sub(rf"(?<![\d.]){re.escape(src)}(?![\d])", dst, text)
    return text


def _walk(value: Any, fn: Any) -> Any:
    if isinstance(value, dict):
        return {k: _walk(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, fn) for v in value]
    if isinstance(value, str):
        return fn(value)
    return value


def _ms(label: str, low: float, high: float) -> float:
    h = int(hashlib.sha256(label.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return round(low + (high - low) * h, 1)


_PURPOSES = ("soa", "ns", "ns-address", "address", "txt-registry", "acme-challenge", "wildcard-probe", "caa")


def normalize(doc: dict[str, Any], *, name: str, ports: dict[int, str], loop: dict[str, str], sites: list[Site],
              context: str) -> dict[str, Any]:
    """The rig's recording, made to look like the incident (see the module docstring)."""
    doc = copy.deepcopy(doc)
    ev = doc["evidence"]
    back = {lo: pub for pub, lo in loop.items()}
    labels = {f"127.0.0.1:{p}": f"{pub}:53" for p, pub in ports.items()}
    token = hashlib.sha256(name.encode()).hexdigest()[:12]

    def text(s: str) -> str:
        for src, dst in labels.items():
            s = s.replace(src, dst)
        s = re.sub(r"edgedoctor-[0-9a-f]{12}", f"edgedoctor-{token}", s)
        return _sub_addresses(s, back)

    for section in ("dns", "tls", "http"):
        ev[section] = _walk(ev.get(section), text)
    ev["cluster"]["objects"] = _walk(ev["cluster"]["objects"], lambda s: _sub_addresses(s, back))
    dns = ev.get("dns")
    if isinstance(dns, dict):
        for key in ("authoritative_servers", "recursive_servers"):
            for srv in dns.get(key) or []:
                if srv.get("address") == "127.0.0.1" and srv.get("port") in ports:
                    srv["address"], srv["port"] = ports[srv["port"]], 53
        dns["queries"] = sorted(
            dns.get("queries") or [],
            key=lambda q: (_PURPOSES.index(q["purpose"]) if q.get("purpose") in _PURPOSES else 99, q.get("role", ""),
                           q.get("chain_from") or "", q.get("qname", ""), q.get("qtype", ""), q.get("server", "")),
        )
        for i, q in enumerate(dns["queries"]):
            q["elapsed_ms"] = _ms(f"{name}/dns/{i}", 4, 31)
            # BIND rotates RRsets (rrset-order); the order of records in a section means nothing.
            for sec in ("answer", "authority"):
                if isinstance(q.get(sec), list):
                    q[sec] = sorted(q[sec], key=lambda rr: (rr.get("name", ""), rr.get("type", ""), str(rr.get("value", ""))))
        dns["elapsed_ms"] = _ms(f"{name}/dns", 60, 140)
    server_of = {s.address: s.server for s in sites}
    for i, t in enumerate(ev.get("tls") or []):
        if t.get("elapsed_ms") is not None:
            t["elapsed_ms"] = _ms(f"{name}/tls/{i}", 18, 95)
    ev["tls"] = sorted(ev.get("tls") or [], key=lambda t: (t.get("source", ""), t.get("address", ""), bool(t.get("proxy_protocol")))) \
        if ev.get("tls") is not None else None
    for i, h in enumerate(ev.get("http") or []):
        if h.get("elapsed_ms") is not None:
            h["elapsed_ms"] = _ms(f"{name}/http/{i}", 20, 120)
        headers = h.get("headers") or {}
        if headers.get("server") == "nginx":
            headers["server"] = server_of.get(h.get("address"), "envoy")
        if "<center>nginx</center>" in (h.get("body_sample") or ""):
            # nginx writes an HTML page for its redirects; Envoy's have no body.
            h["body_sample"] = ""
            headers.pop("content-type", None)
            headers["content-length"] = "0"
    opts = ev.get("options") or {}
    for key in ("nameservers", "authoritative"):
        if key in opts:
            opts[key] = [text(x) for x in opts[key]]
    if "resolve" in opts:
        opts["resolve"] = [text(x) for x in opts["resolve"]]
    ev["source"] = {"kind": "live", "context": context, "cluster": context}
    ev["cluster"]["context"] = context
    ev["cluster"]["cluster"] = context
    ev["cluster"]["kinds_read"] = sorted(k.kind for k in KINDS)
    ev["cluster"]["errors"] = []
    return doc


def _snapshot(objects: list[dict[str, Any]], path: Path, mapping: dict[str, str]) -> None:
    text = yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": objects}, sort_keys=False, width=200)
    path.write_text(_sub_addresses(text, mapping))


def run_edgedoctor(argv: list[str], *, fake_time: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "edgedoctor", *argv]
    if fake_time:
        faketime = shutil.which("faketime")
        if not faketime:
            raise SystemExit("the library build needs faketime (apt-get install faketime): the probes must judge "
                             "certificates at the scenario's time")
        cmd = [faketime, "-f", "@" + fake_time.replace("T", " ").rstrip("Z"), *cmd]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TZ": "UTC", "NO_COLOR": "1"}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)


def _bindable(address: str, port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((address, port))
        except OSError:
            return False
    return True


def free_loopbacks(n: int) -> list[str]:
    """Loopback addresses where nothing listens on 443 or 80 (tests may run beside a build)."""
    out = [a for a in (f"127.0.0.{i}" for i in LOOPBACK_POOL) if _bindable(a, 443) and _bindable(a, 80)][:n]
    if len(out) < n:
        raise RuntimeError("not enough free loopback addresses for the edge")
    return out


def check_served(name: str, doc: dict[str, Any], sites: list[Site]) -> None:
    """The handshakes must show the certificates the scenario serves, or another server answered."""
    want = {s.address: s.cert.pem for s in sites if s.tls == "serve" and s.cert is not None}
    for t in doc["evidence"].get("tls") or []:
        if t.get("ok") and t.get("address") in want and t["chain_pem"][0] != want[t["address"]]:
            raise RuntimeError(f"{name}: {t['address']} served another certificate (a server of another run on that address?)")


def record(name: str, host: str, now: dt.datetime, objects: list[dict[str, Any]], world: World, *, context: str,
           ca_root_pem: str) -> dict[str, Any]:
    """Run the real check for one scenario; the normalized recording document."""
    t = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    addresses = list(dict.fromkeys(s.address for s in world.sites))
    for o in objects:  # Gateway addresses without a site still need a loopback (nothing answers there)
        for a in (o.get("status") or {}).get("addresses") or []:
            if isinstance(a, dict) and a.get("value") and a["value"] not in addresses:
                addresses.append(a["value"])
    for _n, _ttl, rtype, value in world.records + (world.resolver_records or []):
        if rtype in ("A",) and value not in addresses:
            addresses.append(value)
    loop = dict(zip(addresses, free_loopbacks(len(addresses)), strict=True))
    tmp = Path(tempfile.mkdtemp(prefix=f"edgedoctor-lib-{name}-"))
    servers: list[Any] = []
    edge = None
    try:
        snap = tmp / "cluster.yaml"
        _snapshot(objects, snap, loop)
        bundle = tmp / "ca-bundle.pem"
        bundle.write_text(ca_root_pem)
        raw = tmp / "raw.yaml"
        argv = ["record", host, "-o", str(raw), "--snapshot", str(snap), "--now", t, "--timeout", "10"]
        ports: dict[int, str] = {}
        if world.offline:
            argv.append("--offline")
        else:
            def zone(records: list[tuple[str, int, str, str]], serial: int, soa: tuple[str, str, int, int] | None = None) -> str:
                if soa is None:
                    return _sub_addresses(zone_file(world.zone, records, serial=serial, ttl=world.soa_ttl,
                                                    minimum=world.soa_minimum), loop)
                return _sub_addresses(zone_file(world.zone, records, serial=serial, ttl=soa[2], minimum=soa[3],
                                                soa=(soa[0], soa[1]), ns_address=world.resolver_address), loop)

            auth = NamedServer(tmp / "auth", {world.zone: zone(world.records, world.serial)}, port=free_port("127.0.0.1"))
            servers.append(auth.start())
            rec_records = world.records if world.resolver_records is None else world.resolver_records
            resolver = NamedServer(tmp / "resolver", {world.zone: zone(rec_records, world.resolver_serial or world.serial,
                                                                        world.resolver_soa)},
                                   port=free_port("127.0.0.1"))
            servers.append(resolver.start())
            ports = {auth.port: AUTH_PUBLIC, resolver.port: world.resolver_address}
            edge = Edge(tmp / "edge", world.sites, loop)
            edge.start()
            argv += ["--authoritative", auth.label, "--nameserver", resolver.label, "--ca-bundle", str(bundle)]
        proc = run_edgedoctor(argv, fake_time=t)
        if not raw.exists():
            raise RuntimeError(f"{name}: edgedoctor record failed (exit {proc.returncode}): {proc.stderr.strip()}")
        doc = normalize(read_recording_doc(raw), name=name, ports=ports, loop=loop, sites=world.sites, context=context)
        check_served(name, doc, world.sites)
        return doc
    finally:
        if edge is not None:
            edge.stop()
        for s in reversed(servers):
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)
