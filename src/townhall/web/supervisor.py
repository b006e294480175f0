"""The small process that keeps the workers of ``townhall up --workers N`` running.

``townhall up`` checks the sources and the atlas and binds the port in a process that has
loaded pandas, DuckDB and the build code (about 180 MB). With several workers it then
replaces itself (``exec``) by this module, which imports only uvicorn: the process that
watches the workers for as long as the server runs holds about 30 MB, not the memory of
the checks. The workers each import the app (:func:`townhall.web.app.app_from_env`).

Run as ``python -m townhall.web.supervisor FD WORKERS`` with ``FD`` an inherited listening
socket; nothing else is meant to start it.
"""

from __future__ import annotations

import inspect
import socket
import sys
import time
from typing import Any

#: uvicorn settings shared by the one-process server and the workers.
UVICORN: dict[str, Any] = {"log_level": "warning", "timeout_graceful_shutdown": 5, "backlog": 2048}


def supervise(sock: socket.socket, workers: int) -> None:
    """Run ``workers`` processes serving :func:`townhall.web.app.app_from_env` on ``sock``
    until Ctrl+C or SIGTERM (uvicorn's supervisor restarts a worker that dies)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    cfg = uvicorn.Config("townhall.web.app:app_from_env", factory=True, workers=workers, **UVICORN)
    # uvicorn before 0.40 took the server's run method as ``target``; later ones make it themselves.
    kw = {"target": uvicorn.Server(cfg).run} if "target" in inspect.signature(Multiprocess).parameters else {}
    Multiprocess(cfg, sockets=[sock], **kw).run()


def main(argv: list[str] | None = None) -> int:
    """Entry point after ``exec``: ``FD WORKERS``."""
    args = sys.argv[1:] if argv is None else argv
    fd, workers = int(args[0]), int(args[1])
    t0 = time.perf_counter()
    supervise(socket.socket(fileno=fd), workers)
    print(f"Stopped after {time.perf_counter() - t0:,.0f} s.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
