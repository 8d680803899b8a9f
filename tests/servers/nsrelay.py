"""A private network namespace whose loopback reaches chosen ports of the host's loopback.

    python tests/servers/nsrelay.py PORT [PORT...]

Some servers cannot be told where to listen: Envoy Gateway binds its xDS, wasm, health and
webhook servers on every interface at fixed ports. Run inside this namespace, they are
reachable from nowhere (the namespace has only `lo`), and two test sessions do not compete
for those ports. What such a server must reach on the host (the test's kube-apiserver) is
relayed: each PORT listens on 127.0.0.1 inside the namespace and forwards every connection
to 127.0.0.1:PORT on the host, byte for byte (TLS passes through untouched, so the server
certificate and kubeconfig of the host side hold as they are).

The process creates the namespace (unshare, root only), brings its `lo` up, prints
`ready` and serves until it is terminated. Other processes join with
`nsenter --net=/proc/PID/ns/net ...`; the namespace goes away with the last of them.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import socket
import struct
import sys
import threading

CLONE_NEWNET = 0x40000000
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1

_libc = ctypes.CDLL(None, use_errno=True)


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def loopback_up() -> None:
    """`ip link set lo up`, without needing iproute2."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s.fileno(), SIOCGIFFLAGS, req))[1]
        fcntl.ioctl(s.fileno(), SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s, how in ((dst, socket.SHUT_WR), (src, socket.SHUT_RD)):
            with contextlib.suppress(OSError):
                s.shutdown(how)


def _forward(client: socket.socket, port: int, host_ns: int) -> None:
    # Namespaces are per thread: this thread (only) dials from the host's namespace.
    _check(_libc.setns(host_ns, CLONE_NEWNET), "setns to the host's network namespace")
    try:
        upstream = socket.create_connection(("127.0.0.1", port), timeout=10)
    except OSError:
        client.close()
        return
    upstream.settimeout(None)
    back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
    back.start()
    _pipe(client, upstream)
    back.join()
    client.close()
    upstream.close()


def _serve(listener: socket.socket, port: int, host_ns: int) -> None:
    while True:
        client, _ = listener.accept()
        threading.Thread(target=_forward, args=(client, port, host_ns), daemon=True).start()


def main(ports: list[int]) -> None:
    host_ns = os.open("/proc/self/ns/net", os.O_RDONLY)
    _check(_libc.unshare(CLONE_NEWNET), "unshare a network namespace (needs root)")
    loopback_up()
    listeners = []
    for port in ports:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(64)
        listeners.append((listener, port))
    threads = [threading.Thread(target=_serve, args=(lst, port, host_ns), daemon=True) for lst, port in listeners]
    for t in threads:
        t.start()
    print("ready", flush=True)
    for t in threads:
        t.join()


if __name__ == "__main__":
    try:
        main([int(p) for p in sys.argv[1:]])
    except (OSError, ValueError) as e:
        print(f"nsrelay: {e}", file=sys.stderr)
        sys.exit(1)
