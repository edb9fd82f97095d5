"""Floods a server with idle TCP connections and reports its resident memory.

Each round opens N connections spread over PORTS (round-robin), holds them for HOLD
seconds, closes them all, then waits SETTLE seconds. In `idle` mode a connection sends
nothing; in `request` mode it sends one keep-alive `GET /health`, reads the answer and
then idles. The server's VmRSS (from /proc/PID/status) is printed before the round, at
its peak while the connections are open, and after the settle time, one line a round:

    round 1: opened 19800 (answered 0) in 2.1 s; RSS KiB before 9000 peak 240000 after 235000

Only the standard library is used. The client needs N file descriptors: it raises its
soft limit to the hard one and stops opening at the limit (the line says how many).
"""

import argparse
import resource
import socket
import sys
import time

REQUEST = b"GET /health HTTP/1.1\r\nHost: flood\r\n\r\n"


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def read_answer(sock: socket.socket) -> bool:
    """Reads one response head (the /health body is empty); whether it was a 200."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            return False
        buf += chunk
    return buf.startswith(b"HTTP/1.1 200")


def one_round(args, number: int) -> tuple[int, int, int]:
    before = rss_kib(args.pid)
    socks = []
    answered = 0
    started = time.monotonic()
    for i in range(args.n):
        port = args.ports[i % len(args.ports)]
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=args.connect_timeout)
        except OSError as e:
            print(f"  connection {i}: {e}; stopping at {len(socks)}", file=sys.stderr)
            break
        socks.append(s)
        if args.mode == "request":
            s.sendall(REQUEST)
    if args.mode == "request":
        for s in socks:
            try:
                answered += read_answer(s)
            except OSError:
                pass
    opened = time.monotonic() - started
    peak = rss_kib(args.pid)
    deadline = time.monotonic() + args.hold
    while time.monotonic() < deadline:
        time.sleep(0.2)
        peak = max(peak, rss_kib(args.pid))
    for s in socks:
        s.close()
    time.sleep(args.settle)
    after = rss_kib(args.pid)
    print(
        f"round {number}: opened {len(socks)} (answered {answered}) in {opened:.1f} s; "
        f"RSS KiB before {before} peak {peak} after {after}",
        flush=True,
    )
    return before, peak, after


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pid", type=int, required=True, help="the server's process id")
    p.add_argument("--ports", type=lambda s: [int(x) for x in s.split(",")], required=True)
    p.add_argument("--n", type=int, default=19800)
    p.add_argument("--mode", choices=["idle", "request"], default="idle")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--hold", type=float, default=2.0, help="seconds the connections stay open")
    p.add_argument("--settle", type=float, default=15.0, help="seconds after closing")
    p.add_argument("--connect-timeout", type=float, default=10.0)
    args = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    for number in range(1, args.rounds + 1):
        one_round(args, number)


if __name__ == "__main__":
    main()
