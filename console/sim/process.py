"""The agent simulator in a process of its own, for the console's `--streams N` load when N is large.

One event loop runs on one core. At a thousand sessions the simulator that streams to them and the
console that applies what they stream need more than that core between them, and a thread of the
same process does not help (the two loops then take turns at the interpreter lock). A child process
gives the simulator the machine's other core; the console talks to it over loopback exactly as it
would to a real agent server.

From `SESSIONS_PER_PROCESS` sessions on, a `SimulatorFleet` of several children (one per core at
most) serves them, each session dealt to one child for good: its log, its replay and its truth live
there, and its reconnections go there. Each child keeps the truth window it is given per session, as
one would.

A child binds port 0 on 127.0.0.1 and writes its port on its first line of output. It stops when
its standard input closes, so it never outlives the console, even one that was killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from pathlib import Path
from typing import Literal

from console import heap
from console.sim.agent import AgentSimulator, SimConfig
from console.sim.agent_truth import TruthWindow

# Sessions from which `--streams` gets a simulator process of its own instead of the embedded one.
PROCESS_FROM = 50
# Sessions per simulator process: one more per as many again, on the cores the console leaves. One
# process serves 1,000 sessions with some 40% of a core to spare (tests/bench/streams.py prints its
# share); on 2 cores a second one only takes turns with the console for the other core.
SESSIONS_PER_PROCESS = 500
READY_TIMEOUT = 30.0  # seconds for the child to say where it listens
ROOT = Path(__file__).resolve().parents[2]  # where `console` can be imported from


class SimulatorProcess:
    """A child process serving `AgentSimulator` on loopback; `url` and `http_url` as the embedded one."""

    def __init__(self) -> None:
        self._process: asyncio.subprocess.Process | None = None
        self._port = 0

    async def start(
        self, mode: Literal["normal", "chaos"], seed: int, time_scale: float, truth: TruthWindow | None = None
    ) -> int:
        window = truth or TruthWindow()
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "console.sim.process",
            mode,
            str(seed),
            repr(time_scale),
            str(window.messages),
            str(window.context_versions),
            str(window.snapshot_bytes),
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert self._process.stdout is not None
        try:
            line = await asyncio.wait_for(self._process.stdout.readline(), READY_TIMEOUT)
            self._port = int(line)
        except (TimeoutError, ValueError) as exc:
            await self.stop()
            raise RuntimeError(f"the agent simulator process did not start: {exc or 'timed out'}") from exc
        return self._port

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        process = self._process
        return process.pid if process is not None and process.returncode is None else None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._port}/ws"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        if process.stdin is not None:
            process.stdin.close()  # the child's signal to stop
        try:
            await asyncio.wait_for(process.wait(), 5)
        except TimeoutError:
            process.kill()
            await process.wait()


def processes_for(streams: int, cores: int | None = None) -> int:
    """How many simulator processes serve `streams` autopiloted sessions (0: the embedded simulator):
    one per `SESSIONS_PER_PROCESS`, on every core but the console's, and one at least."""
    if streams < PROCESS_FROM:
        return 0
    spare = (cores or os.cpu_count() or 1) - 1
    return max(1, min(spare, -(-streams // SESSIONS_PER_PROCESS)))


class SimulatorFleet:
    """Several simulator processes, each serving the sessions sent to it (`urls`, one per process):
    a session's connections all go to the same process, which alone holds its log and truth."""

    def __init__(self, count: int) -> None:
        self.processes = [SimulatorProcess() for _ in range(count)]

    async def start(
        self, mode: Literal["normal", "chaos"], seed: int, time_scale: float, truth: TruthWindow | None = None
    ) -> None:
        started = await asyncio.gather(
            *(p.start(mode, seed, time_scale, truth) for p in self.processes), return_exceptions=True
        )
        failed = next((r for r in started if isinstance(r, BaseException)), None)
        if failed is not None:
            await self.stop()
            raise failed

    @property
    def pids(self) -> list[int | None]:
        return [p.pid for p in self.processes]

    @property
    def urls(self) -> list[str]:
        return [p.url for p in self.processes]

    @property
    def url(self) -> str:
        return self.processes[0].url

    @property
    def http_url(self) -> str:
        return self.processes[0].http_url

    async def stop(self) -> None:
        await asyncio.gather(*(p.stop() for p in self.processes))


async def _serve(mode: Literal["normal", "chaos"], seed: int, time_scale: float, truth: TruthWindow) -> None:
    # The collector as the console keeps it (console/heap.py): a thousand sessions' logs and truth are
    # a large heap that full collections would walk again and again, in the middle of token writes.
    heap.freeze_startup()
    sim = AgentSimulator(SimConfig(mode=mode, seed=seed, time_scale=time_scale, truth=truth))
    port = await sim.start("127.0.0.1", 0)
    heap.FREEZE_SURVIVORS.start()
    print(port, flush=True)
    loop = asyncio.get_running_loop()
    try:
        # Until the console closes our standard input (or is gone).
        await loop.run_in_executor(None, sys.stdin.buffer.read)
    finally:
        await sim.stop()


def main(argv: list[str]) -> None:
    mode: Literal["normal", "chaos"] = "chaos" if argv[0] == "chaos" else "normal"
    truth = TruthWindow(*(int(size) for size in argv[3:6]))  # what the truth keeps (agent_truth.py)
    runner = _serve(mode, int(argv[1]), float(argv[2]), truth)
    try:
        import uvloop
    except ImportError:  # not on Windows
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(runner)
        return
    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(runner)


if __name__ == "__main__":
    main(sys.argv[1:])
