"""The commands that show a finding's evidence by hand, with the real names filled in."""

from __future__ import annotations

import shlex


def q(value: str) -> str:
    return shlex.quote(value)


def describe(kind: str, namespace: str, name: str) -> str:
    ns = f"-n {q(namespace)} " if namespace else ""
    return f"kubectl {ns}describe {kind} {q(name)}"


def get_yaml(kind: str, namespace: str, name: str) -> str:
    ns = f"-n {q(namespace)} " if namespace else ""
    return f"kubectl {ns}get {kind} {q(name)} -o yaml"


def cmctl_status(namespace: str, name: str) -> str:
    return f"cmctl status certificate -n {q(namespace)} {q(name)}"


def logs(namespace: str, deployment: str, grep: str | None = None) -> str:
    base = f"kubectl -n {q(namespace)} logs deploy/{q(deployment)} --since=1h"
    return f"{base} | grep -i {q(grep)}" if grep else base


def deployments_by_image(image: str) -> str:
    """Every Deployment whose containers run `image`, whatever its name and labels (a
    label selector finds only what a chart installed)."""
    cols = "NAMESPACE:.metadata.namespace,NAME:.metadata.name,IMAGES:.spec.template.spec.containers[*].image"
    return f"kubectl get deploy -A -o {q('custom-columns=' + cols)} | grep -i {q(image)}"


def openssl_served(address: str, host: str, port: int = 443) -> str:
    return (
        f"openssl s_client -connect {address}:{port} -servername {host} </dev/null 2>/dev/null"
        " | openssl x509 -noout -issuer -subject -dates -serial -ext subjectAltName"
    )


# The probes' layer states what it saw at a given address and port.


def split_server(label: str) -> tuple[str, int]:
    if label.startswith("["):
        addr, _, port = label[1:].partition("]:")
        return addr, int(port or 53)
    addr, _, port = label.rpartition(":")
    return (addr, int(port)) if addr and port.isdigit() else (label, 53)


def dig(name: str, rtype: str = "A", server: str | None = None, *, recursive: bool = False,
        options: tuple[str, ...] = ()) -> str:
    """The one dig command line: at `server` (`ADDR[:PORT]` or `[V6]:PORT`, asked without
    recursion as the probes ask an authoritative server, unless `recursive`), or through
    the system resolver when `server` is None; `options` (`+trace`, `+short`) go last."""
    at = ""
    if server is not None:
        addr, port = split_server(server)
        port_opt = f" -p {port}" if port != 53 else ""
        norec = "" if recursive else " +norecurse"
        at = f"@{addr}{port_opt}{norec} "
    qname = (name or "").strip().lower().rstrip(".")
    if "*" in qname:
        qname = f"'{qname}'"  # keep the shell from globbing a wildcard name
    return " ".join([f"dig {at}{qname} {rtype}", *options])


def openssl_cmd(host: str, address: str, port: int, proxy: bool = False) -> str:
    target = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    # openssl s_client cannot send a PROXY header; curl can (--haproxy-protocol).
    if proxy:
        return f"curl -skv --haproxy-protocol --resolve {host}:{port}:{address} https://{host}:{port}/ -o /dev/null"
    return (
        f"openssl s_client -connect {target} -servername {host} -showcerts </dev/null"
        " | openssl x509 -noout -serial -issuer -subject -dates -ext subjectAltName"
    )


def curl_cmd(host: str, address: str, scheme: str, port: int) -> str:
    default = (scheme == "http" and port == 80) or (scheme == "https" and port == 443)
    url = f"{scheme}://{host}/" if default else f"{scheme}://{host}:{port}/"
    addr = f"[{address}]" if ":" in address else address
    k = "k" if scheme == "https" else ""
    return f"curl -sS{k}I --resolve {host}:{port}:{addr} {url}"
