"""Benchmark the web atlas: warm response times of its pages over real HTTP.

    python bench/bench_web.py [--atlas PATH] [--requests 30]

Starts the app with uvicorn on 127.0.0.1 (a free port) in this process, warms
each URL once, then times ``--requests`` sequential GETs of each with httpx and
reports the median and 90th percentile. Peak memory is this process's maximum
resident set size (server and client together). Target (2-core machine): a
place page in at most 50 ms warm.
"""

from __future__ import annotations

import argparse
import resource
import socket
import statistics
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from townhall import config
from townhall.web.app import create_app

URLS = (
    "/",
    "/search?q=wigan",
    "/place/lad/E08000010",
    "/place/town/E35001379",
    "/place/lsoa21/E01006233",
    "/api/place/lad/E08000010",
    "/level/lad",
    "/indicator/imd25_imd_score?level=lad",
    "/sources",
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--atlas", type=Path, default=None)
    ap.add_argument("--requests", type=int, default=30)
    args = ap.parse_args()
    path = args.atlas or config.atlas_path()

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(path), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)

    print(f"atlas {path}, {args.requests} warm requests per URL")
    print(f"{'url':45} {'status':>6} {'median ms':>10} {'p90 ms':>8} {'kB':>7}")
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        for url in URLS:
            r = client.get(url)  # warm-up
            times = []
            for _ in range(args.requests):
                t = time.perf_counter()
                r = client.get(url)
                times.append((time.perf_counter() - t) * 1000)
            times.sort()
            p90 = times[int(0.9 * (len(times) - 1))]
            print(f"{url:45} {r.status_code:>6} {statistics.median(times):>10.1f} {p90:>8.1f} "
                  f"{len(r.content) / 1024:>7.1f}")
    server.should_exit = True
    thread.join(timeout=10)
    print(f"peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
