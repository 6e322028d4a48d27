"""The command line as a person meets it: help, mistakes, a port in use, a dead upstream."""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from console.connection import ConnectionState as S
from console.connection import LinkStatus
from console.plain import explain, with_detail
from console.upstream_log import LinkReporter
from main import main

ROOT = Path(__file__).resolve().parents[1]


def run_main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    out, err = capsys.readouterr()
    return int(stopped.value.code or 0), out, err


def flags_without_help(text: str) -> list[str]:
    """Option entries of an argparse help text that have no help after them."""
    lines = text.split("\n\n", 1)[1].splitlines()  # every section after the usage
    missing = []
    for n, line in enumerate(lines):
        entry = re.match(r"  (-\S+(?: \S+)?(?:, -\S+(?: \S+)?)*)(\s{2,}\S.*)?$", line)
        if entry and not entry.group(2):
            follows = lines[n + 1] if n + 1 < len(lines) else ""
            if not follows.startswith(" " * 8) or follows.strip().startswith("-"):
                missing.append(entry.group(1))
    return missing


@pytest.mark.parametrize("command", [[], ["sim"], ["record"]])
def test_help_lists_the_commands_shows_defaults_and_explains_every_flag(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_main([*command, "--help"], capsys)
    assert code == 0
    assert flags_without_help(out) == []
    if not command:
        assert re.search(r"^  sim\s+\S", out, re.M) and re.search(r"^  record\s+\S", out, re.M)
        assert "(default: 8080)" in out and "(default: 127.0.0.1)" in out
    if command == ["record"]:
        assert "(default: 120.0)" in out


@pytest.mark.parametrize(
    ("argv", "meant"),
    [
        (["--prot", "9000"], "--port"),
        (["recrod"], "record"),
        (["sim", "agnet"], "agent"),
        (["--no-shwo"], "--no-show"),
    ],
)
def test_a_typo_gets_a_suggestion(argv: list[str], meant: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(argv, capsys)
    assert code == 2
    assert f"did you mean '{meant}'?" in err


def test_an_upstream_with_a_scheme_its_dialect_cannot_speak_is_refused_at_start(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run_main(["--upstream", "agent=ftp://127.0.0.1/ws"], capsys)
    assert code == 2
    assert "must start with ws:// or wss://" in err


def test_a_negative_number_of_simulator_processes_is_refused_at_start(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run_main(["--streams", "100", "--sim-processes", "-1"], capsys)
    assert code == 2
    assert "--sim-processes: -1 is not a number of processes" in err


def test_a_port_in_use_gives_one_line_and_a_failing_exit_before_anything_says_it_is_ready() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        for argv in (["--no-show", "--port", port], ["sim", "agent", "--port", port]):
            done = subprocess.run(
                [sys.executable, "main.py", *argv],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 1
            assert done.stdout == ""
            assert done.stderr.splitlines() == [
                f"port {port} is in use on 127.0.0.1: stop what uses it or pass another --port"
            ]


def test_a_dead_upstream_is_told_in_the_terminal_without_flooding_it() -> None:
    out = io.StringIO()
    reporter = LinkReporter("upstream agent=ws://127.0.0.1:9/ws", out)
    refused = "cannot connect: [Errno 111] Connect call failed ('127.0.0.1', 9)"
    lines = [reporter.line(LinkStatus(S.CONNECTING, attempt, None, refused)) for attempt in range(1, 10)]
    told = [line for line in lines if line]
    assert [re.findall(r"attempt (\d+)", line) for line in told] == [["1"], ["2"], ["4"], ["8"]]
    assert "nothing is listening at that address" in told[0] and "Errno 111" in told[0]
    assert reporter.line(LinkStatus(S.OPEN)) == "upstream agent=ws://127.0.0.1:9/ws: connected again"
    assert reporter.line(LinkStatus(S.OPEN)) is None


def test_raw_failures_read_as_sentences_with_the_detail_behind() -> None:
    assert (
        explain("[Errno 111] Connect call failed ('127.0.0.1', 1)") == "nothing is listening at that address"
    )
    assert explain("[Errno -2] Name or service not known") == "the host name could not be found"
    assert explain("Expecting ',' delimiter: line 1 column 9 (char 8)") == (
        "the server sent something that is not valid JSON"
    )
    assert with_detail("server closed the stream") == "server closed the stream"
    assert with_detail("timed out during opening handshake") == (
        "the server did not answer in time (timed out during opening handshake)"
    )


def test_the_dashboard_tells_the_terminal_that_an_upstream_is_dead() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    argv = ["--no-show", "--no-store", "--port", str(port), "--upstream", f"agent=ws://127.0.0.1:{dead}/ws"]
    process = subprocess.Popen(
        [sys.executable, "main.py", *argv], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True
    )
    watchdog = threading.Timer(30, process.kill)  # a console that never says it ends the read
    watchdog.start()
    try:
        assert process.stderr is not None
        lines: list[str] = [""]
        for line in process.stderr:
            lines.append(line)
            if "cannot connect" in line:
                break
        told = lines[-1]
        assert f"upstream agent=ws://127.0.0.1:{dead}/ws: cannot connect (attempt 1)" in told
        assert "nothing is listening at that address" in told
    finally:
        watchdog.cancel()
        process.terminate()
        process.wait(10)
