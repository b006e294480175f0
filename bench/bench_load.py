"""Load benchmark of the web atlas: many concurrent clients over a realistic mix of pages.

    python bench/bench_load.py [--atlas PATH] [--clients 50] [--seconds 30] [--workers 2]

Starts ``townhall up --workers N`` on 127.0.0.1 (a free port; nothing else is ever a
target), warms each URL of the mix (``--warm`` passes, so every worker has seen it or
finds it in the cache shared beside the atlas), then runs ``--clients`` asyncio clients
(httpx, one connection each) for ``--seconds``, each requesting URLs of the mix at random
with no pause. Reports requests per second, latency percentiles, errors (any status of 400
or more, or a failed connection) and the server's memory: the resident set of the
supervisor and all its workers, sampled every half second (peak). Stops the server at the end.

The mix (fixed seed): place pages of councils and towns, their API profiles, comparisons of
towns with their cities and of council pairs, town gaps pages, indicator values at three
levels, and searches.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from townhall import config


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tree(pid: int) -> list[int]:
    """A process and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def _tree_cpu_s(pid: int) -> float:
    """CPU seconds (user and system) used so far by a process and its descendants."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in _tree(pid):
        try:
            with open(f"/proc/{p}/stat") as fh:
                f = fh.read().rsplit(")", 1)[1].split()
            total += int(f[11]) + int(f[12])
        except (OSError, ValueError, IndexError):
            pass
    return total / tick


def _tree_rss_mb(pid: int, field: str = "Rss") -> float:
    """Memory of a process and all its descendants, in MB (from /proc/PID/smaps_rollup).

    ``Rss`` counts a page shared by several processes (the libraries' code, mapped once by the
    kernel) in each of them; ``Pss`` divides it among them, so the sum is what the server occupies.
    """
    total = 0
    for p in _tree(pid):
        try:
            with open(f"/proc/{p}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith(field + ":"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


class Sampler:
    """Peak memory (RSS and PSS) of the server's processes, sampled every half second in a thread."""

    def __init__(self, pid: int) -> None:
        import threading

        self.pid, self.rss, self.pss = pid, 0.0, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.rss = max(self.rss, _tree_rss_mb(self.pid))
            self.pss = max(self.pss, _tree_rss_mb(self.pid, "Pss"))
            self._stop.wait(0.5)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def url_mix(atlas_path: Path, seed: int = 20261203) -> list[str]:
    """The URLs the clients request (fixed by the seed)."""
    from townhall.api import open_atlas

    rng = random.Random(seed)
    with open_atlas(atlas_path) as a:
        lads = a.areas("lad")
        lads = lads[lads["code"].str.startswith("E")]["code"].tolist()
        towns = a.areas("town")
        towns = towns[towns["code"].str.startswith("E")][["code", "name"]].to_dict("records")
    lad_s = rng.sample(lads, 40)
    town_s = rng.sample(towns, 40)
    urls = [f"/place/lad/{c}" for c in lad_s[:25]] + [f"/place/town/{t['code']}" for t in town_s[:25]]
    urls += [f"/api/place/lad/{c}" for c in lad_s[10:30]] + [f"/api/place/town/{t['code']}" for t in town_s[5:20]]
    urls += [f"/compare?a={t['code']}" for t in town_s[:10]]
    urls += [f"/api/compare?a={a}&b={b}" for a, b in zip(lad_s[:5], lad_s[5:10], strict=True)]
    urls += [f"/town/{t['code']}/gaps" for t in town_s[10:20]] + [f"/api/town/{t['code']}/gaps" for t in town_s[:5]]
    for ind in ("imd25_imd_score", "imd25_income_score", "census21_share_65_plus"):
        urls += [f"/api/values/{ind}?level={lv}" for lv in ("lad", "town", "pcon24")]
    urls += [f"/search?q={t['name'].split()[0]}" for t in town_s[20:35]]
    urls += [f"/api/search?q={t['name'][:4]}" for t in town_s[25:40]]
    return urls


async def _client(http: httpx.AsyncClient, urls: list[str], until: float, rng: random.Random,
                  lat: list[float], errors: list[str]) -> None:
    while time.perf_counter() < until:
        url = rng.choice(urls)
        t = time.perf_counter()
        try:
            r = await http.get(url)
            if r.status_code >= 400:
                errors.append(f"{r.status_code} {url}")
        except httpx.HTTPError as exc:
            errors.append(f"{type(exc).__name__} {url}")
        lat.append(time.perf_counter() - t)


async def run(base: str, urls: list[str], clients: int, seconds: float, server_pid: int) -> dict[str, float]:
    lat: list[float] = []
    errors: list[str] = []
    peak = peak_pss = 0.0
    cpu_server, cpu_client = _tree_cpu_s(server_pid), time.process_time()
    # One client and one kept-alive connection per simulated user (as browsers are): a pool
    # shared by all of them costs this process more than the server spends per request.
    https = [httpx.AsyncClient(base_url=base, timeout=60, limits=httpx.Limits(max_connections=1))
             for _ in range(clients)]
    try:
        start = time.perf_counter()
        until = start + seconds
        tasks = [asyncio.create_task(_client(http, urls, until, random.Random(i), lat, errors))
                 for i, http in enumerate(https)]
        while not all(t.done() for t in tasks):
            peak = max(peak, _tree_rss_mb(server_pid))
            peak_pss = max(peak_pss, _tree_rss_mb(server_pid, "Pss"))
            await asyncio.sleep(0.5)
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - start
    finally:
        for http in https:
            await http.aclose()
    cpu_server, cpu_client = _tree_cpu_s(server_pid) - cpu_server, time.process_time() - cpu_client
    lat.sort()
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000  # noqa: E731
    if errors:
        print("first errors:", errors[:5])
    return {"requests": len(lat), "seconds": wall, "rps": len(lat) / wall, "errors": len(errors),
            "p50_ms": q(0.50), "p95_ms": q(0.95), "p99_ms": q(0.99), "max_ms": lat[-1] * 1000,
            "mean_ms": statistics.fmean(lat) * 1000, "peak_rss_mb": peak, "peak_pss_mb": peak_pss,
            "server_cpu_ms": 1000 * cpu_server / len(lat), "client_cpu_ms": 1000 * cpu_client / len(lat)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--atlas", type=Path, default=None)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--warm", type=int, default=1, help="warm-up passes over the mix")
    ap.add_argument("--cold", action="store_true",
                    help="remove what earlier servers kept beside the atlas first (everything is computed anew)")
    args = ap.parse_args()
    if not 1 <= args.seconds <= 600 or not 1 <= args.clients <= 500:
        sys.exit("--seconds from 1 to 600, --clients from 1 to 500")
    path = (args.atlas or config.atlas_path()).absolute()
    urls = url_mix(path)
    if args.cold:
        import shutil

        shutil.rmtree(path.with_name(f".{path.name}.cache"), ignore_errors=True)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-c", "from townhall.cli import main; main()", "up", "--port", str(port),
                               "--workers", str(args.workers), "--atlas", str(path)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 300
        while True:
            try:
                httpx.get(base + "/api/levels", timeout=5)
                break
            except httpx.HTTPError:
                if server.poll() is not None or time.time() > deadline:
                    sys.exit("server did not start: " + (server.stderr.read() if server.stderr else ""))
                time.sleep(0.5)
        print(f"atlas {path}; {len(urls)} URLs; {args.workers} workers; server memory at start "
              f"{_tree_rss_mb(server.pid):,.0f} MB RSS, {_tree_rss_mb(server.pid, 'Pss'):,.0f} MB PSS")
        sampler = Sampler(server.pid)
        t = time.perf_counter()
        with httpx.Client(base_url=base, timeout=300) as http:
            # The server works out the front page's findings once, in the background, at start;
            # a server runs for days, so the figures below are for after that (its time is shown).
            while time.perf_counter() - t < 600:
                f = http.get("/api/").json().get("findings", {})
                if f and all(v is not None for v in f.values()):
                    break
                time.sleep(1)
            print(f"server's own warm-up (front-page findings) done in {time.perf_counter() - t:,.1f} s; "
                  f"memory {_tree_rss_mb(server.pid):,.0f} MB RSS, {_tree_rss_mb(server.pid, 'Pss'):,.0f} MB PSS")
            t = time.perf_counter()
            for _ in range(args.warm):
                for u in urls:
                    http.get(u)
        print(f"warm-up: {args.warm} pass(es) over the mix in {time.perf_counter() - t:,.1f} s; "
              f"memory {_tree_rss_mb(server.pid):,.0f} MB RSS, {_tree_rss_mb(server.pid, 'Pss'):,.0f} MB PSS")
        res = asyncio.run(run(base, urls, args.clients, args.seconds, server.pid))
        print(f"{args.clients} clients, {res['seconds']:.1f} s: {res['requests']:,} requests, "
              f"{res['rps']:,.1f} req/s, {res['errors']} errors; latency p50 {res['p50_ms']:.1f} ms, "
              f"p95 {res['p95_ms']:.1f} ms, p99 {res['p99_ms']:.1f} ms, max {res['max_ms']:.0f} ms; "
              f"server memory peak {res['peak_rss_mb']:,.0f} MB RSS, {res['peak_pss_mb']:,.0f} MB PSS (all processes); CPU per request: server "
              f"{res['server_cpu_ms']:.2f} ms, this client {res['client_cpu_ms']:.2f} ms (both on the same cores)")
        sampler.stop()
        print(f"server memory peak over the whole run (warm-ups included): {sampler.rss:,.0f} MB RSS, "
              f"{sampler.pss:,.0f} MB PSS")
        with open("/proc/loadavg") as fh:
            print("load average:", fh.read().split()[:3])
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
