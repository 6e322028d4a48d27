"""The console under tracemalloc, for `soak.py --tracemalloc`: `python tests/bench/soak_traced.py DIR MINUTES
-- <main.py arguments>`.

Tracing starts once the console listens (tracing its imports would take minutes), and a snapshot of
what is allocated, by traceback, is written to DIR at each of MINUTES after that (`snap-<m>.pickle`);
`soak.py` compares the first with the last to name what grew.
"""

from __future__ import annotations

import gc
import runpy
import socket
import sys
import threading
import time
import tracemalloc
from pathlib import Path

FRAMES = 8  # of each allocation's traceback: enough to see which part of the console holds it
ROOT = Path(__file__).resolve().parents[2]


def _snapshots(out: Path, marks: list[float], port: int) -> None:
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.5)
    tracemalloc.start(FRAMES)
    began = time.monotonic()
    for minute in marks:
        time.sleep(max(0.0, began + minute * 60 - time.monotonic()))
        gc.collect()
        tracemalloc.take_snapshot().dump(str(out / f"snap-{minute:g}.pickle"))


def main() -> None:
    out, marks, rest = Path(sys.argv[1]), [float(m) for m in sys.argv[2].split(",")], sys.argv[4:]
    port = int(rest[rest.index("--port") + 1])
    threading.Thread(target=_snapshots, args=(out, marks, port), daemon=True).start()
    sys.argv = [str(ROOT / "main.py"), *rest]
    sys.path.insert(0, str(ROOT))
    runpy.run_path(str(ROOT / "main.py"), run_name="__main__")


if __name__ == "__main__":
    main()
