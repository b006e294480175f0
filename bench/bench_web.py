"""Benchmark the web atlas: warm response times of its pages over real HTTP.

    python bench/bench_web.py [--atlas PATH] [--requests 30]

Starts the app with uvicorn on 127.0.0.1 (a free port) in this process, warms
each URL once, then times ``--requests`` sequential GETs of each with httpx and
reports the median, 90th and 95th percentiles and the page size; for map pages also
the size of the map itself (the ``<svg class="map ...">`` element). Peak memory is this
process's maximum resident set size (server and client together). Targets (2-core
machine): a place page in at most 50 ms warm; map pages (council and 2024 seat level)
p95 at most 100 ms warm, and each map payload at most 600 kB.

The analysis pages (``/towns``, ``/left-behind``...) are warmed by the app's start-up
thread; ``--analyses`` adds them (their first visit waits for that thread).
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
    "/search?q=wigan",
    "/place/lad/E08000010",
    "/place/town/E35001379",
    "/place/lsoa21/E01006233",
    "/api/place/lad/E08000010",
    "/level/lad",
    "/indicator/imd25_imd_score?level=lad",
    "/indicator/imd25_imd_score?level=pcon24",
    "/indicator/imd25_imd_score?level=town",
    "/indicator/imd25_imd_score?level=lad&kind=hex",
    "/indicator/imd25_imd_score/map.svg?level=lad",
    "/indicator/imd25_imd_score/map.svg?level=pcon24",
    "/sources",
)
ANALYSES = ("/", "/towns", "/left-behind", "/hotspots", "/inequality", "/similar?place=Wigan&level=lad")


def map_kb(body: bytes) -> float | None:
    """Size of the map in a page (its ``<svg class="map ...">`` element), in kB."""
    text = body.decode("utf-8", "replace")
    i = text.find('<svg xmlns="http://www.w3.org/2000/svg" class="map')
    if i < 0:
        return None
    return len(text[i:text.index("</svg>", i) + 6].encode()) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--atlas", type=Path, default=None)
    ap.add_argument("--requests", type=int, default=30)
    ap.add_argument("--analyses", action="store_true", help="also time the analysis pages")
    ap.add_argument("--only", nargs="*", default=None, help="time only these URLs")
    ap.add_argument("--bust", action="store_true",
                    help="add a unique query parameter to each request, so the server's response cache "
                         "misses and the page is rendered every time (its analyses and maps stay cached)")
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
    # The app works out its slow analyses in a start-up thread: let it finish, so it does not
    # compete with the timed requests (it is reported, not timed).
    t0 = time.perf_counter()
    while any(t.name == "townhall-warm" and t.is_alive() for t in threading.enumerate()):
        time.sleep(0.5)
    print(f"start-up analyses (towns, inequality, left behind, validation, hot spots) done in "
          f"{time.perf_counter() - t0:.0f} s")

    print(f"atlas {path}, {args.requests} warm requests per URL"
          + (", each rendered (response cache bypassed)" if args.bust else ", response cache on"))
    print(f"{'url':50} {'status':>6} {'median ms':>10} {'p90 ms':>8} {'p95 ms':>8} {'kB':>7} {'map kB':>7}")
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600) as client:
        for url in args.only or (URLS + (ANALYSES if args.analyses else ())):
            r = client.get(url)  # warm-up
            times = []
            for i in range(args.requests):
                u = url + (("&" if "?" in url else "?") + f"bust={i}" if args.bust else "")
                t = time.perf_counter()
                r = client.get(u)
                times.append((time.perf_counter() - t) * 1000)
            times.sort()
            p90 = times[int(0.9 * (len(times) - 1))]
            p95 = times[round(0.95 * (len(times) - 1))]
            mk = map_kb(r.content)
            print(f"{url:50} {r.status_code:>6} {statistics.median(times):>10.1f} {p90:>8.1f} {p95:>8.1f} "
                  f"{len(r.content) / 1024:>7.1f} {'' if mk is None else f'{mk:.1f}':>7}")
    server.should_exit = True
    thread.join(timeout=10)
    print(f"peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
