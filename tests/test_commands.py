"""The one dig builder of diagnosis/commands.py, in each form a finding shows it."""

from __future__ import annotations

from edgedoctor.diagnosis.commands import dig


def test_dig_at_a_server_asks_as_the_probes_did():
    assert dig("App.Example.com.", "A", "192.0.2.53") == "dig @192.0.2.53 +norecurse app.example.com A"
    assert dig("app.example.com", "TXT", "127.0.0.1:5353") == "dig @127.0.0.1 -p 5353 +norecurse app.example.com TXT"
    assert dig("app.example.com", "A", "[2001:db8::53]:53", recursive=True) == "dig @2001:db8::53 app.example.com A"


def test_dig_through_the_system_resolver_with_options_last():
    assert dig("_acme-challenge.example.com", "TXT", options=("+trace",)) == "dig _acme-challenge.example.com TXT +trace"
    assert dig("app.example.com", options=("+short",)) == "dig app.example.com A +short"


def test_a_wildcard_name_is_quoted_for_the_shell():
    assert dig("*.example.com", "A", "192.0.2.53") == "dig @192.0.2.53 +norecurse '*.example.com' A"
