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


def dig(server: str | None, name: str, rtype: str = "A", norecurse: bool = True) -> str:
    at = f"@{server.split(':')[0]} " if server else ""
    port = ""
    if server and server.count(":") == 1:
        port = f" -p {server.split(':')[1]}"
    flags = " +norecurse" if norecurse and server else ""
    return f"dig {at}{name} {rtype}{port}{flags}"


def openssl_served(address: str, host: str, port: int = 443) -> str:
    return (
        f"openssl s_client -connect {address}:{port} -servername {host} </dev/null 2>/dev/null"
        " | openssl x509 -noout -issuer -subject -dates -serial -ext subjectAltName"
    )
