"""Where a console process spends its time while a benchmark measures it: py-spy, summarised.

`Profiler(pid, path)` samples the process with py-spy (`pip install py-spy`) from `start()` to
`stop()`, writes the collapsed stacks to `path` (the input of any flame-graph tool) and returns the
functions with the largest share of the samples, inclusive and on their own (self).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
from collections import Counter
from pathlib import Path


class Profiler:
    def __init__(self, pid: int, path: Path, rate: int = 250) -> None:
        self.pid = pid
        self.path = path
        self.rate = rate
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        spy = shutil.which("py-spy")
        if spy is None:
            raise SystemExit("py-spy is not installed: pip install py-spy")
        command = [spy, "record", "--pid", str(self.pid), "--rate", str(self.rate), "--format", "raw"]
        command += ["--output", str(self.path), "--nonblocking"]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self, top: int = 25) -> list[str]:
        process, self._process = self._process, None
        if process is None:
            return []
        process.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        process.wait(60)
        return summary(self.path, top)


def summary(path: Path, top: int = 25) -> list[str]:
    """The `top` functions by inclusive share of the samples, with their own (self) share."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        total += count
        frames = [_short(f) for f in stack.split(";")]
        for name in set(frames):
            inclusive[name] += count
        own[frames[-1]] += count
    if not total:
        return ["  (no samples)"]
    lines = [f"  {total} samples; inclusive% self%  function"]
    for name, count in inclusive.most_common(top):
        lines.append(f"  {100 * count / total:6.1f} {100 * own[name] / total:5.1f}  {name}")
    lines.append("  by self time:")
    for name, count in own.most_common(top):
        lines.append(f"  {100 * inclusive[name] / total:6.1f} {100 * count / total:5.1f}  {name}")
    return lines


def _short(frame: str) -> str:
    """`function (path/to/module.py:123)` -> `function (module.py)`: one name per function."""
    name, _, where = frame.partition(" (")
    module = where.rsplit("/", 1)[-1].split(":", 1)[0].rstrip(")")
    return f"{name} ({module})"
