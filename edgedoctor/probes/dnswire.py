"""DNS questions and answers on the wire, read into plain records without dnspython objects.

A sweep asks about 14 questions per host; building and reading them through dnspython's
message objects cost most of the sweep's CPU. The probe's questions and the answers servers
give them are simple, so they are written and read here directly, and the result is the very
text dnspython gives (`Rdata.to_text()`, `Name.to_text()`): anything this reader does not
know exactly as dnspython does (another record type or class, EDNS, an escaped or oversized
name, a duplicate record, a bad compression pointer, trailing bytes, a malformed record) is
handed to dnspython whole, so the outcome, error included, is dnspython's.
"""

from __future__ import annotations

import functools
import re
import secrets
import socket
import struct
from dataclasses import dataclass, field
from typing import Any

import dns.flags
import dns.ipv6
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

CLASS_IN = 1
QR, AA, TC, RD = 0x8000, 0x0400, 0x0200, 0x0100
_OPCODE_MASK = 0x7800
# Record types read here; the text of each is dnspython's for that type.
A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, CAA = 1, 2, 5, 6, 12, 15, 16, 28, 257
_NAME_TYPES = frozenset({NS, CNAME, PTR})
_SINGLETONS = frozenset({CNAME, SOA})  # dnspython keeps only the last one of an RRset
# Bytes of a label that dnspython's Name.to_text writes as they are (no escape).
_PLAIN = frozenset(range(0x21, 0x7F)) - frozenset(b'"().;\\@$')
_QNAME = re.compile(r"(?:[A-Za-z0-9_*-]{1,63}\.)+\Z")


class Unusual(Exception):
    """Something this reader leaves to dnspython."""


@dataclass
class RRSet:
    """One RRset as dnspython groups them: same owner (any case), type and class."""

    name: str  # Name.to_text() of the first record's owner
    rdtype: int
    ttl: int  # the smallest TTL of its records, as dnspython's Rdataset.add keeps
    values: list[str] = field(default_factory=list)  # Rdata.to_text() of each record


@dataclass
class Answer:
    """What the probe reads of a DNS response."""

    flags: int
    rcode: int
    answer: list[RRSet]
    authority: list[RRSet]
    additional: list[RRSet]


@functools.lru_cache(maxsize=64)
def type_text(rdtype: int) -> str:
    return dns.rdatatype.to_text(rdtype)


@functools.lru_cache(maxsize=64)
def type_value(qtype: str) -> int:
    return int(dns.rdatatype.from_text(qtype))


@functools.lru_cache(maxsize=64)
def rcode_text(rcode: int) -> str:
    return dns.rcode.to_text(rcode)  # type: ignore[arg-type]


@dataclass
class Question:
    qname: str
    qtype: str
    rd: bool
    id: int
    wire: bytes
    message: Any = None  # the dnspython query, made only when the question needed one

    def as_message(self) -> dns.message.Message:
        if self.message is None:
            self.message = dns.message.from_wire(self.wire)
        return self.message


def build_query(qname: str, qtype: str, rd: bool) -> Question:
    """The question as dnspython's make_query writes it (no EDNS, RD unless told otherwise).

    Raises as dnspython does for a name or type it cannot encode."""
    flags = RD if rd else 0
    if _QNAME.match(qname) and len(qname) < 255:
        qid = secrets.randbelow(65536)
        name = b"".join(bytes((len(label),)) + label.encode("ascii") for label in qname[:-1].split("."))
        wire = struct.pack("!HHHHHH", qid, flags, 1, 0, 0, 0) + name + b"\x00" + struct.pack("!HH", type_value(qtype), CLASS_IN)
        return Question(qname, qtype, rd, qid, wire)
    query = dns.message.make_query(qname, qtype)
    query.flags = dns.flags.Flag(flags)
    return Question(qname, qtype, rd, query.id, query.to_wire(), query)


def _name(wire: bytes, pos: int) -> tuple[str, int]:
    """(Name.to_text(), the position after the name) for the name at `pos`."""
    labels: list[str] = []
    end = -1
    biggest = pos
    length = 1
    while True:
        count = wire[pos]
        if count == 0:
            pos += 1
            break
        if count >= 0xC0:
            target = ((count & 0x3F) << 8) | wire[pos + 1]
            if end < 0:
                end = pos + 2
            if target >= biggest:
                raise Unusual("bad compression pointer")
            biggest = pos = target
            continue
        if count >= 64:
            raise Unusual("label type")
        label = wire[pos + 1 : pos + 1 + count]
        if len(label) != count or not _PLAIN.issuperset(label):
            raise Unusual("label needs escaping or is cut short")
        length += count + 1
        labels.append(label.decode("ascii"))
        pos += 1 + count
    if length > 255:
        raise Unusual("name too long")
    return (".".join(labels) + "." if labels else "."), (end if end >= 0 else pos)


def _quoted(data: bytes) -> str:
    """dns.rdata._escapify: the text inside a TXT or CAA string's quotes."""
    out = []
    for c in data:
        if c == 0x22 or c == 0x5C:
            out.append("\\" + chr(c))
        elif 0x20 <= c < 0x7F:
            out.append(chr(c))
        else:
            out.append(f"\\{c:03d}")
    return "".join(out)


def _rdata(wire: bytes, rdtype: int, pos: int, end: int) -> str:
    if rdtype == A:
        if end - pos != 4:
            raise Unusual("A length")
        return socket.inet_ntoa(wire[pos:end])
    if rdtype == AAAA:
        if end - pos != 16:
            raise Unusual("AAAA length")
        return dns.ipv6.inet_ntoa(wire[pos:end])
    if rdtype in _NAME_TYPES:
        text, after = _name(wire, pos)
    elif rdtype == SOA:
        mname, after = _name(wire, pos)
        rname, after = _name(wire, after)
        if after + 20 != end:
            raise Unusual("SOA length")
        numbers = struct.unpack("!IIIII", wire[after:end])
        return f"{mname} {rname} " + " ".join(str(n) for n in numbers)
    elif rdtype == MX:
        if end - pos < 3:
            raise Unusual("MX length")
        exchange, after = _name(wire, pos + 2)
        text = f"{int.from_bytes(wire[pos:pos + 2], 'big')} {exchange}"
    elif rdtype == TXT:
        strings = []
        while pos < end:
            n = wire[pos]
            if pos + 1 + n > end:
                raise Unusual("TXT string cut short")
            strings.append(f'"{_quoted(wire[pos + 1 : pos + 1 + n])}"')
            pos += 1 + n
        if not strings:
            raise Unusual("TXT without strings")
        return " ".join(strings)
    elif rdtype == CAA:
        if end - pos < 2 or pos + 2 + wire[pos + 1] > end:
            raise Unusual("CAA length")
        tag = wire[pos + 2 : pos + 2 + wire[pos + 1]]
        if not tag.isalnum():
            raise Unusual("CAA tag")
        return f'{wire[pos]} {_quoted(tag)} "{_quoted(wire[pos + 2 + len(tag) : end])}"'
    else:
        raise Unusual("record type")
    if after != end:
        raise Unusual("record length")
    return text


def _section(wire: bytes, pos: int, count: int) -> tuple[list[RRSet], int]:
    out: list[RRSet] = []
    index: dict[tuple[str, int], RRSet] = {}
    for _ in range(count):
        name, pos = _name(wire, pos)
        if pos + 10 > len(wire):
            raise Unusual("record header cut short")
        rdtype, rdclass, ttl, rdlen = struct.unpack_from("!HHIH", wire, pos)
        pos += 10
        if rdclass != CLASS_IN or pos + rdlen > len(wire):
            raise Unusual("record class or length")
        value = _rdata(wire, rdtype, pos, pos + rdlen)
        pos += rdlen
        ttl = 0 if ttl > 0x7FFFFFFF else ttl
        key = (name.lower(), rdtype)
        rrset = index.get(key)
        if rrset is None:
            rrset = index[key] = RRSet(name, rdtype, ttl)
            out.append(rrset)
        elif rdtype in _SINGLETONS or any(v.lower() == value.lower() for v in rrset.values):
            raise Unusual("duplicate record")
        else:
            rrset.ttl = min(rrset.ttl, ttl)
        rrset.values.append(value)
    return out, pos


def _read(wire: bytes, question: Question) -> Answer:
    """The answer, read here; raises Unusual for what dnspython must read instead."""
    if len(wire) < 12:
        raise Unusual("short header")
    qid, flags, qdcount, ancount, nscount, arcount = struct.unpack_from("!HHHHHH", wire)
    if flags & _OPCODE_MASK:
        raise Unusual("opcode")
    pos = 12
    questions = []
    for _ in range(qdcount):
        qname, pos = _name(wire, pos)
        if pos + 4 > len(wire):
            raise Unusual("question cut short")
        questions.append((qname.lower(),) + struct.unpack_from("!HH", wire, pos))
        pos += 4
    answer, pos = _section(wire, pos, ancount)
    authority, pos = _section(wire, pos, nscount)
    additional, pos = _section(wire, pos, arcount)
    if pos != len(wire):
        raise Unusual("trailing bytes")
    rcode = flags & 0xF
    # dnspython's Message.is_response, for the one question asked.
    ours = [(question.qname.lower(), type_value(question.qtype), CLASS_IN)]
    empty_ok = rcode in (1, 2, 4, 5) and not questions  # FORMERR SERVFAIL NOTIMP REFUSED
    if not flags & QR or qid != question.id or not (empty_ok or set(questions) == set(ours)):
        raise dns.query.BadResponse
    return Answer(flags, rcode, answer, authority, additional)


def from_message(msg: dns.message.Message) -> Answer:
    """The same record of a message dnspython read."""

    def section(rrsets: Any) -> list[RRSet]:
        return [RRSet(r.name.to_text(), int(r.rdtype), int(r.ttl), [rd.to_text() for rd in r]) for r in rrsets]

    return Answer(int(msg.flags), int(msg.rcode()), section(msg.answer), section(msg.authority),
                  section(msg.additional))


def read_answer(wire: bytes, question: Question) -> Answer:
    """The answer to `question` in `wire`, as dnspython's udp() would give it, or its error."""
    try:
        return _read(wire, question)
    except (Unusual, IndexError, struct.error):
        pass
    msg = dns.message.from_wire(wire)
    if not question.as_message().is_response(msg):
        raise dns.query.BadResponse
    return from_message(msg)


def exchange_udp(question: Question, address: str, port: int, timeout: float) -> Answer:
    """Send the question over UDP and read the answer (raises dns.exception.Timeout, OSError,
    or what dnspython raises for a malformed answer)."""
    import dns.exception

    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    # A connected UDP socket turns an ICMP port-unreachable into an immediate
    # ConnectionRefusedError instead of a silent timeout.
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.connect((address, port))
        sock.settimeout(timeout)
        sock.send(question.wire)
        try:
            wire = sock.recv(65535)
        except TimeoutError:
            raise dns.exception.Timeout(timeout=timeout) from None
    return read_answer(wire, question)


def exchange_tcp(question: Question, address: str, port: int, timeout: float) -> Answer:
    """The question again over TCP (after a truncated UDP answer), through dnspython."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect((address, port))
        sock.setblocking(False)
        return from_message(dns.query.tcp(question.as_message(), address, timeout=timeout, port=port, sock=sock))


__all__ = ["AA", "TC", "Answer", "Question", "RRSet", "build_query", "exchange_tcp", "exchange_udp",
           "from_message", "rcode_text", "read_answer", "type_text"]
