"""The names the DNS probe asks about: the zone walk's candidates, the CAA names up to the
registered domain, external-dns's TXT registry names, the ACME challenge names."""

from __future__ import annotations

# Public suffixes with two labels that are common enough to matter for the CAA walk. Without
# a full Public Suffix List the walk stops at the last two labels otherwise (example.com).
_TWO_LABEL_SUFFIXES = frozenset(
    {
        "co.uk", "org.uk", "ac.uk", "gov.uk", "me.uk", "ltd.uk", "plc.uk",
        "com.au", "net.au", "org.au", "edu.au", "gov.au",
        "co.nz", "org.nz", "net.nz",
        "co.jp", "ne.jp", "or.jp", "ac.jp",
        "com.br", "net.br", "org.br",
        "co.za", "org.za",
        "com.cn", "net.cn", "org.cn",
        "co.in", "net.in", "org.in",
        "com.mx", "com.tr", "com.sg", "com.hk", "co.kr", "or.kr",
        "co.il", "com.ar", "com.pl", "com.ua",
    }
)


def server_label(address: str, port: int) -> str:
    """`127.0.0.1:53`, `[::1]:53`: the form dig users read and --nameserver accepts."""
    if ":" in address:
        return f"[{address}]:{port}"
    return f"{address}:{port}"


def fqdn(name: str) -> str:
    name = name.strip().lower()
    return name if name.endswith(".") else name + "."


def bare(name: str) -> str:
    return name.strip().lower().rstrip(".")


def in_zone(name: str, zone: str | None) -> bool:
    name = bare(name)
    return zone is not None and (name == zone or name.endswith("." + zone))


def registered_domain(name: str) -> str:
    """The registrable domain by a small built-in suffix list (no PSL download)."""
    labels = bare(name).split(".")
    if len(labels) >= 3 and ".".join(labels[-2:]) in _TWO_LABEL_SUFFIXES:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def txt_registry_names(
    host: str, prefix: str = "", suffix: str = "", wildcard_replacement: str = ""
) -> list[str]:
    """The names where external-dns keeps its TXT registry records for `host`.

    Mirrors external-dns `registry/mapper` (ToTXTName): the typed names for A, AAAA and CNAME
    (`a-app.example.com`, or with `--txt-suffix=-%{record_type}` `app-a.example.com`), then the
    old same-name format (`app.example.com` itself, plus prefix/suffix), which is still read.
    A `*` first label is replaced by `wildcard_replacement` when given.
    """
    name = bare(host)
    if not name:
        return []
    prefix, suffix = prefix.lower(), suffix.lower()
    first, _, rest = name.partition(".")
    if first == "*" and wildcard_replacement:
        first = wildcard_replacement.lower()
    templated = "%{record_type}" in prefix or "%{record_type}" in suffix

    def build(rtype: str) -> str:
        pre = prefix.replace("%{record_type}", rtype)
        suf = suffix.replace("%{record_type}", rtype)
        label = first if templated or not rtype else f"{rtype}-{first}"
        left = pre + label + suf
        return f"{left}.{rest}" if rest else left

    out = [build(rtype) for rtype in ("a", "aaaa", "cname")]
    old = build("")  # the old format: no type, a template collapses to nothing
    if old not in out:
        out.append(old)
    return out


def zone_candidates(host: str) -> list[str]:
    """The names the SOA walk asks, from the host up to the last two labels."""
    labels = bare(host).split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


def caa_names(host: str) -> list[str]:
    """From the host up to the registered domain, closest first."""
    top = registered_domain(host)
    labels = bare(host).split(".")
    names = []
    for i in range(len(labels)):
        name = ".".join(labels[i:])
        names.append(name)
        if name == top:
            break
    return names


def challenge_name(name: str) -> str:
    """The `_acme-challenge.` name cert-manager's DNS-01 solver writes for `name`."""
    name = bare(name)
    if name.startswith("*."):
        name = name[2:]
    if name.startswith("_acme-challenge."):
        return name
    return f"_acme-challenge.{name}"
