#!/usr/bin/env python3
"""Hold N concurrent SSE streams of /v1/completions open and read them slowly.

Opens N keep-alive TCP connections (at most --ramp new ones at a time), sends one
streaming completion on each ("stream": true, long max_tokens), then reads each stream
in small pieces with a pause between reads. After --hold seconds from the last
connection it reports how many streams are open, answered 200, have received at least
one `data:` chunk, and received bytes in the last --window seconds; with --pid, the
server's VmRSS and VmHWM at that moment; and the client's own CPU seconds and RSS.

  hold_streams.py --port P [--host 127.0.0.1] [-n 10000] [--max-tokens 2000]
                  [--hold 20] [--pid SERVER_PID] [--model mistral-7b-awq]
"""
import argparse
import asyncio
import json
import resource
import sys
import time

try:
    import uvloop
except ImportError:  # plain asyncio works too, with more client CPU
    uvloop = None


class Stream:
    __slots__ = ("open", "status", "chunks", "bytes", "last", "error")

    def __init__(self):
        self.open = False
        self.status = 0
        self.chunks = 0
        self.bytes = 0
        self.last = 0.0
        self.error = None


async def one(args, body, st, ramp, stop):
    try:
        async with ramp:
            reader, writer = await asyncio.open_connection(args.hosts[st_index(st)], args.port)
            st.open = True
            writer.write(
                f"POST /v1/completions HTTP/1.1\r\nHost: {args.hosts[0]}:{args.port}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
            await writer.drain()
        line = await reader.readline()
        st.status = int(line.split()[1]) if line else 0
        while not stop.is_set():
            data = await reader.read(args.read_size)
            if not data:
                break
            st.bytes += len(data)
            st.chunks += data.count(b"data:")
            st.last = time.monotonic()
            await asyncio.sleep(args.pause)  # a slow reader
        writer.close()
    except Exception as e:  # noqa: BLE001 - counted and reported
        st.error = type(e).__name__ + ": " + str(e)[:80]
    finally:
        st.open = False


_index = {}


def st_index(st):
    return _index[id(st)]


def mem(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS", "VmHWM")):
                k, v = line.split(":")
                out[k] = int(v.split()[0])
    return out


async def main(args):
    body = json.dumps({"model": args.model, "prompt": "Hello", "max_tokens": args.max_tokens,
                       "ignore_eos": True, "stream": True}).encode()
    ramp = asyncio.Semaphore(args.ramp)
    stop = asyncio.Event()
    streams = [Stream() for _ in range(args.n)]
    for i, st in enumerate(streams):
        _index[id(st)] = i % len(args.hosts)
    t0 = time.monotonic()
    tasks = [asyncio.create_task(one(args, body, st, ramp, stop)) for st in streams]
    while sum(1 for s in streams if s.open or s.error) < args.n and time.monotonic() - t0 < 120:
        await asyncio.sleep(0.5)
    ramp_s = time.monotonic() - t0
    await asyncio.sleep(args.hold)
    now = time.monotonic()
    opened = sum(s.open for s in streams)
    ok = sum(s.status == 200 for s in streams)
    data = sum(s.chunks > 0 for s in streams)
    recent = sum(s.open and now - s.last < args.window for s in streams)
    errors = {}
    for s in streams:
        if s.error:
            errors[s.error] = errors.get(s.error, 0) + 1
    server = mem(args.pid) if args.pid else {}
    ru = resource.getrusage(resource.RUSAGE_SELF)
    chunks = sum(s.chunks for s in streams)
    print(f"n={args.n} connected_in_s={ramp_s:.1f} open={opened} http_200={ok} with_data={data} "
          f"receiving_last_{args.window:g}s={recent} chunks={chunks} errors={sum(errors.values())} "
          f"server_VmRSS_KiB={server.get('VmRSS', '')} server_VmHWM_KiB={server.get('VmHWM', '')} "
          f"client_cpu_s={ru.ru_utime + ru.ru_stime:.1f} client_wall_s={now - t0:.1f} "
          f"client_maxrss_KiB={ru.ru_maxrss}")
    for e, c in sorted(errors.items(), key=lambda x: -x[1])[:5]:
        print(f"  {c} x {e}", file=sys.stderr)
    stop.set()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hosts", nargs="+", default=["127.0.0.1"], help="spread connections over these")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("-n", type=int, default=10000)
    ap.add_argument("--max-tokens", type=int, default=2000)
    ap.add_argument("--model", default="mistral-7b-awq")
    ap.add_argument("--hold", type=float, default=20)
    ap.add_argument("--window", type=float, default=5)
    ap.add_argument("--ramp", type=int, default=256, help="connections being opened at once")
    ap.add_argument("--read-size", type=int, default=1024)
    ap.add_argument("--pause", type=float, default=1.0, help="seconds between reads of a stream")
    ap.add_argument("--pid", type=int)
    args = ap.parse_args()
    if uvloop:
        uvloop.install()
    asyncio.run(main(args))
