"""/metrics under load: a scrape's turns on a busy event loop, and its compressed body."""

from __future__ import annotations

import asyncio
import gzip
import re
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from console import metrics
from console.clients import Target
from console.sim.agent import AgentSimulator, SimConfig
from console.supervisor import Supervisor
from tests.e2e.conftest import Console, start_console, stop_console
from tests.helpers import eventually, running


@pytest.fixture
async def supervisor() -> AsyncIterator[Supervisor]:
    async with running(AgentSimulator(SimConfig(seed=3, time_scale=0.1))) as sim:
        sup = Supervisor(close_timeout=0.5)
        sup.start()
        for n in range(3):
            sup.add(Target("agent", f"{sim.url}?session=m{n}"), name=f"agent {n}")
        await eventually(lambda: all(sup.sessions[s].client.connected_once for s in sup.ids))
        yield sup
        await sup.close()


async def test_a_scrape_on_a_busy_loop_waits_for_few_of_its_turns(supervisor: Supervisor) -> None:
    # A flood makes each turn of the loop long; a scrape that gave the loop back after every metric
    # family waited for a dozen such turns (seconds under a flood) for a few ms of its own work.
    loop = asyncio.get_running_loop()
    turns = 0
    flooding = True

    def flood() -> None:  # a callback in every turn of the loop
        nonlocal turns
        if flooding:
            turns += 1
            time.sleep(0.02)  # a turn's worth of other sessions' work
            loop.call_soon(flood)

    flood()
    try:
        before = turns
        text = await metrics.scrape(supervisor, metrics.LoopLag())
        waited = turns - before
    finally:
        flooding = False
    assert "agent_console_session_up" in text
    assert waited <= 4  # a dozen before: one per metric family
    # The next scrape tells what this one cost: the turns it gave back, and its time with theirs.
    told = metrics.render(supervisor)
    assert re.search(rf"^agent_console_scrape_turns {metrics.PREVIOUS_SCRAPE.turns}$", told, re.M)
    assert metrics.PREVIOUS_SCRAPE.turns <= 4
    seconds = re.search(r"^agent_console_scrape_duration_seconds (\S+)$", told, re.M)
    assert seconds is not None and float(seconds.group(1)) >= 0.02 * metrics.PREVIOUS_SCRAPE.turns


async def test_a_scrape_is_gzipped_for_a_client_that_takes_it() -> None:
    text = "".join(f'agent_console_session_up{{session="agent-{n:03d}"}} 1\n' for n in range(400))
    body, headers = await metrics.encode(text, "deflate, gzip;q=0.8")
    assert headers["Content-Encoding"] == "gzip" and len(body) < len(text) / 4
    assert gzip.decompress(body).decode() == text
    for refused in ("", "identity", "gzip;q=0", "br"):
        assert await metrics.encode(text, refused) == (text.encode(), {})
    assert (await metrics.encode("up 1\n", "gzip"))[1] == {}  # too small to be worth it


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    started = start_console(Path(tmp_path_factory.mktemp("metrics")))
    yield started
    stop_console(started)


@pytest.mark.parametrize("encoding", ["gzip", "identity"])
def test_the_console_sends_its_scrape_compressed_once_or_plain(console: Console, encoding: str) -> None:
    scraped = httpx.get(f"{console.url}/metrics", headers={"Accept-Encoding": encoding}, timeout=10)
    assert scraped.status_code == 200
    assert scraped.headers.get("content-encoding", "identity") == encoding
    assert "# TYPE agent_console_sessions gauge" in scraped.text  # decoded once: readable text
