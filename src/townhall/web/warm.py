"""The server's warm-up, run as a child process: ``python -m townhall.web.warm ATLAS``.

Started by :func:`townhall.web.measures.warm` (``townhall up``) in one worker per server. It
works out the slow analyses behind the front page and the analysis pages
(:func:`townhall.web.measures.warm_steps`) at low priority and keeps them beside the atlas,
where every worker finds them. It stops when its parent does (its stdin is a pipe from the
parent: at end of file it exits) and exits 0 only if every result was made.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from pathlib import Path


def _stop_with_parent() -> None:
    with contextlib.suppress(OSError, ValueError):
        sys.stdin.buffer.read()  # returns at end of file: the server is gone
    os._exit(0)


def main(argv: list[str] | None = None) -> int:
    """Warm the atlas at ``argv[0]``; 0 if every result was made, 1 otherwise."""
    from townhall.web.measures import WARM_NICE

    args = sys.argv[1:] if argv is None else argv
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, 0, WARM_NICE)
    threading.Thread(target=_stop_with_parent, daemon=True).start()
    from townhall.web.app import create_app
    from townhall.web.measures import warm_steps

    try:
        app = create_app(Path(args[0]))
        return 0 if warm_steps(app) else 1
    except Exception:  # an atlas gone or damaged: the server says so on its own pages
        return 1


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)  # at once: no thread left to finish inside DuckDB at shutdown
