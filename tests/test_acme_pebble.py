"""A real DNS-01 order against pebble, validated against the test's own bind9.

This is the chain cert-manager walks: Order -> Authorization -> Challenge -> TXT record at
`_acme-challenge.<name>` -> the CA looks it up -> valid. The probe must see the TXT at the
authoritative server before the CA validates, and the analysis must say where it is.
"""

from __future__ import annotations

import datetime as dt

import pytest

from edgedoctor import pemcerts as certs
from edgedoctor.diagnosis.world import EdgeFacts, analyze_world
from edgedoctor.probes.dns import probe_dns
from tests.servers.acme_client import AcmeClient
from tests.servers.fixtures import named_factory, pebble_factory, test_ca  # noqa: F401 - pytest fixtures
from tests.servers.named import zone_text

pytestmark = pytest.mark.servers


@pytest.fixture(scope="module")
def acme(named_factory, pebble_factory):  # noqa: F811
    zone = named_factory({"example.com": zone_text("example.com", [("app", 300, "A", "127.0.0.20")])})
    pebble = pebble_factory(zone.server)
    client = AcmeClient(pebble.directory_url, str(pebble.ca_file))
    client.register()
    yield {"zone": zone, "pebble": pebble, "client": client}
    client.close()


def challenge_facts(ch, waited: int) -> dict:
    return {"name": "app-1", "namespace": "apps", "dns_name": ch.identifier, "key": ch.txt_value,
            "wildcard": ch.wildcard, "waiting_seconds": waited,
            "reason": f'Waiting for DNS-01 challenge propagation: DNS record for "{ch.identifier}" not yet propagated'}


def test_dns01_order_becomes_valid_after_the_txt_is_seen(acme):
    zone, client = acme["zone"], acme["client"]
    order_url, order = client.new_order(["app.example.com", "*.app.example.com"])
    challenges = client.dns_challenges(order)
    assert {(c.identifier, c.wildcard) for c in challenges} == {("app.example.com", False), ("app.example.com", True)}
    now = dt.datetime.now(dt.timezone.utc).isoformat()

    # Before publishing: the probe sees no TXT, and a long wait is reported as "not there".
    before = probe_dns("app.example.com", nameservers=[], authoritative=[zone.server],
                       acme_names=["app.example.com"], timeout=2)
    facts = EdgeFacts(host="app.example.com", now=now,
                      acme_challenges=[challenge_facts(c, 900) for c in challenges])
    findings = [f for f in analyze_world(before, None, None, facts).findings if f.code == "cert-dns01-propagation-wait"]
    assert findings and all(f.evidence["key_missing_at"] == [zone.label] for f in findings)
    assert all("is at none of the authoritative servers" in f.message for f in findings)
    # No certificate is served yet, so the stuck challenge is what breaks the host.
    assert {f.severity for f in findings} == {"critical"}

    # Publish both values (wildcard and base share the name), as cert-manager's solver would.
    zone.update("example.com", add=[(c.record_name, 60, "TXT", f'"{c.txt_value}"') for c in challenges])
    after = probe_dns("app.example.com", nameservers=[], authoritative=[zone.server],
                      acme_names=["*.app.example.com", "app.example.com"], timeout=2)
    txt = [q for q in after["queries"] if q["purpose"] == "acme-challenge"]
    assert [q["qname"] for q in txt] == ["_acme-challenge.app.example.com."]
    seen = {rr["value"].strip('"') for rr in txt[0]["answer"]}
    assert seen == {c.txt_value for c in challenges}
    findings = [f for f in analyze_world(after, None, None, facts).findings if f.code == "cert-dns01-propagation-wait"]
    assert len(findings) == 2
    assert all(f.evidence["key_present_at"] == [zone.label] and not f.evidence["key_missing_at"] for f in findings)

    # Now the CA validates against the same server and the order completes.
    for c in challenges:
        client.respond(c)
    for c in challenges:
        assert client.poll(c.authorization_url, ("valid", "invalid"))["status"] == "valid"
    ready = client.poll(order_url, ("ready", "invalid"))
    assert ready["status"] == "ready"
    final, pem = client.finalize(order_url, ready, ["app.example.com", "*.app.example.com"])
    assert final["status"] == "valid"
    leaf = certs.load_pems(pem)[0]
    assert sorted(certs.dns_sans(leaf)) == ["*.app.example.com", "app.example.com"]
    assert certs.name_covers("*.app.example.com", "www.app.example.com")
    assert not certs.covering_sans(leaf, "a.b.app.example.com")


def test_dns01_fails_when_the_txt_is_not_published(acme):
    client = acme["client"]
    order_url, order = client.new_order(["nope.example.com"])
    (challenge,) = client.dns_challenges(order)
    client.respond(challenge)
    authz = client.poll(challenge.authorization_url, ("valid", "invalid"))
    assert authz["status"] == "invalid"
    problem = next(c for c in authz["challenges"] if c["type"] == "dns-01").get("error", {})
    assert problem.get("type", "").startswith("urn:ietf:params:acme:error:")
    dns = probe_dns("nope.example.com", nameservers=[], authoritative=[acme["zone"].server],
                    acme_names=["nope.example.com"], timeout=2)
    (q,) = [q for q in dns["queries"] if q["purpose"] == "acme-challenge"]
    assert q["rcode"] == "NXDOMAIN" and q["answer"] == []
