"""The worker process for large frames ends with the console, however the console ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# A console-like process: decodes a large snapshot through the worker, says the worker's pid, waits.
SCRIPT = """
import asyncio, json, os
from console import offload
frame = json.dumps({"type": "CONTEXT_SNAPSHOT", "seq": 1, "context_id": "c", "data": {"x": "y" * 400_000}})
async def main():
    decoded = await offload.decode_snapshot(frame, 10_000_000)
    assert decoded is not None
    (pid,) = offload._pool._processes
    print(pid, flush=True)
    await asyncio.sleep(60)
asyncio.run(main())
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for every purpose here.
    state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    return state != "Z"


def test_a_killed_console_leaves_no_worker_process_behind() -> None:
    console = subprocess.Popen([sys.executable, "-c", SCRIPT], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert console.stdout is not None
        worker = int(console.stdout.readline())
        assert _alive(worker)
        console.send_signal(signal.SIGKILL)  # no chance to shut its pool down
        console.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(worker), "the worker outlived the console"
    finally:
        console.kill()
