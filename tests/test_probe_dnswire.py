"""The DNS probe's own wire reader gives exactly what dnspython gives (text, grouping, TTLs,
errors), and hands dnspython whatever it does not read itself."""

from __future__ import annotations

import struct

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rrset
import pytest

from edgedoctor.probes import dnswire

QNAME = "app.example.com."


def _question(qtype: str = "A", qname: str = QNAME) -> dnswire.Question:
    return dnswire.build_query(qname, qtype, rd=True)


def _response(q: dnswire.Question, *sections: list[tuple[str, int, str, str]], rcode: int = 0,
              flags: int = 0) -> bytes:
    r = dns.message.make_response(q.as_message())
    r.set_rcode(rcode)
    r.flags |= flags
    for section, records in zip((r.answer, r.authority, r.additional), sections, strict=False):
        for name, ttl, rtype, value in records:
            section.append(dns.rrset.from_text(name, ttl, "IN", rtype, value))
    return r.to_wire()


def _reference(wire: bytes, q: dnswire.Question) -> object:
    """What the probe recorded through dnspython before it had its own reader."""
    try:
        msg = dns.message.from_wire(wire)
        if not q.as_message().is_response(msg):
            raise dns.query.BadResponse
        return dnswire.from_message(msg)
    except Exception as e:
        return (type(e).__name__, str(e))


def _ours(wire: bytes, q: dnswire.Question) -> object:
    try:
        return dnswire.read_answer(wire, q)
    except Exception as e:
        return (type(e).__name__, str(e))


RECORDS = [
    [("app.example.com.", 300, "A", "192.0.2.1"), ("app.example.com.", 300, "A", "192.0.2.2")],
    [("app.example.com.", 60, "AAAA", "2001:db8::1"), ("App.Example.com.", 30, "AAAA", "::ffff:192.0.2.9"),
     ("app.example.com.", 30, "AAAA", "::")],
    [("app.example.com.", 300, "CNAME", "Edge.Example.NET."), ("edge.example.net.", 20, "A", "198.51.100.7")],
    [("example.com.", 3600, "NS", "ns1.example.com."), ("example.com.", 3600, "NS", "ns2.example.org.")],
    [("example.com.", 300, "SOA", "ns1.example.com. host\\.master.example.com. 4294967295 3600 600 86400 60")],
    [("example.com.", 300, "SOA", "ns1.example.com. hostmaster.example.com. 7 3600 600 86400 60")],
    [("example.com.", 300, "MX", "10 mail.example.com.")],
    [("a-app.example.com.", 300, "TXT", '"heritage=external-dns,external-dns/owner=default" "two"'),
     ("a-app.example.com.", 300, "TXT", '"quote \\" back \\\\ tab\\009 high\\200 end"')],
    [("example.com.", 300, "CAA", '0 issue "letsencrypt.org"'), ("example.com.", 300, "CAA", '128 iodef "mailto:a\\"b@example.com"')],
    [("odd\\.label.example.com.", 300, "A", "192.0.2.3")],  # an escaped dot: dnspython's text
    [("sp\\032ace.example.com.", 300, "TXT", '"x"')],
    [("example.com.", 300, "SRV", "0 5 443 edge.example.com.")],  # a type read by dnspython
    [("example.com.", 300, "DS", "12345 8 2 " + "ab" * 32)],
    [("app.example.com.", 300, "A", "192.0.2.1"), ("app.example.com.", 100, "A", "192.0.2.5")],
    [("*.example.com.", 300, "A", "192.0.2.4")],
]


@pytest.mark.parametrize("records", RECORDS)
@pytest.mark.parametrize("where", [0, 1, 2])
def test_same_records_as_dnspython(records, where):
    q = _question()
    sections: list[list[tuple[str, int, str, str]]] = [[], [], []]
    sections[where] = records
    wire = _response(q, *sections, flags=dns.flags.AA)
    assert _ours(wire, q) == _reference(wire, q)


def test_the_answer_a_sweep_sees_is_read_without_dnspython():
    q = _question("SOA")
    wire = _response(q, [], [("example.com.", 60, "SOA", "ns1.example.com. hostmaster.example.com. 1 3600 600 86400 60")],
                     rcode=dns.rcode.NXDOMAIN)
    got = dnswire._read(wire, q)  # raises Unusual if it needed dnspython
    assert got == _reference(wire, q)
    assert dnswire.rcode_text(got.rcode) == "NXDOMAIN"
    assert got.authority[0].values == ["ns1.example.com. hostmaster.example.com. 1 3600 600 86400 60"]


def _patched(wire: bytes, offset: int, data: bytes) -> bytes:
    return wire[:offset] + data + wire[offset + len(data):]


def _cases() -> list[tuple[str, bytes, dnswire.Question]]:
    q = _question()
    ok = _response(q, [("app.example.com.", 300, "A", "192.0.2.1")])
    cases = [
        ("wrong id", _patched(ok, 0, struct.pack("!H", (q.id + 1) % 65536)), q),
        ("not a response", _patched(ok, 2, struct.pack("!H", struct.unpack_from("!H", ok, 2)[0] & 0x7FFF)), q),
        ("other question", ok, _question("AAAA")),
        ("other name", ok, _question("A", "other.example.com.")),
        ("trailing junk", ok + b"\x00", q),
        ("cut short", ok[:-3], q),
        ("header only", ok[:11], q),
        ("truncated flag", _patched(ok, 2, struct.pack("!H", struct.unpack_from("!H", ok, 2)[0] | 0x0200)), q),
        ("bad pointer", ok[:12] + b"\xc0\x0c" + ok[12 + len(b"\x03app\x07example\x03com\x00"):], q),
    ]
    refused = dns.message.make_response(q.as_message())
    refused.set_rcode(dns.rcode.REFUSED)
    refused.question = []
    cases.append(("refused without question", refused.to_wire(), q))
    formerr = dns.message.Message(id=q.id)
    formerr.flags = dns.flags.QR
    cases.append(("empty NOERROR", formerr.to_wire(), q))
    edns = dns.message.make_response(dns.message.make_query(QNAME, "A", use_edns=0, id=q.id))
    edns.set_rcode(dns.rcode.BADVERS)
    cases.append(("EDNS extended rcode", edns.to_wire(), q))
    cases.append(("question in another case", _patched(ok, 12, b"\x03APP"), q))
    dup = dns.message.make_response(q.as_message())
    dup.answer.append(dns.rrset.from_text(QNAME, 300, "IN", "CNAME", "a.example.com."))
    cases.append(("CNAME answer", dup.to_wire(), q))
    return cases


@pytest.mark.parametrize(("why", "wire", "q"), _cases(), ids=[c[0] for c in _cases()])
def test_odd_answers_end_as_dnspython_ends_them(why, wire, q):
    assert _ours(wire, q) == _reference(wire, q), why


def test_two_cnames_for_one_name_keep_the_last_as_dnspython_does():
    q = _question("CNAME")
    msg = dns.message.make_response(q.as_message())
    wire = bytearray(msg.to_wire())
    for target in (b"\x01a\xc0\x0c", b"\x01b\xc0\x0c"):
        wire += b"\xc0\x0c" + struct.pack("!HHIH", 5, 1, 300, len(target)) + target
    struct.pack_into("!H", wire, 6, 2)
    ours = _ours(bytes(wire), q)
    assert ours == _reference(bytes(wire), q)
    assert ours.answer[0].values == ["b.app.example.com."]


@pytest.mark.parametrize("qname", [QNAME, "_acme-challenge.example.com.", "*.example.com.", "x" * 63 + ".com.",
                                   "a.b.", "edgedoctor-0a1b.app.example.com."])
@pytest.mark.parametrize(("qtype", "rd"), [("A", True), ("CAA", False), ("TXT", True)])
def test_questions_are_written_as_dnspython_writes_them(qname, qtype, rd):
    q = dnswire.build_query(qname, qtype, rd)
    ref = dns.message.make_query(qname, qtype, id=q.id)
    if not rd:
        ref.flags &= ~dns.flags.RD
    assert q.wire == ref.to_wire()


@pytest.mark.parametrize("qname", ["x" * 64 + ".com.", "a..b.", ("a" * 60 + ".") * 5])
def test_names_dnspython_refuses_are_refused_the_same_way(qname):
    with pytest.raises(Exception) as ours:
        dnswire.build_query(qname, "A", True)
    with pytest.raises(Exception) as ref:
        dns.message.make_query(qname, "A")
    assert (type(ours.value), str(ours.value)) == (type(ref.value), str(ref.value))
