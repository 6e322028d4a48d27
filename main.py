"""Agent Console command line: the dashboard (default), `sim` and `record`."""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import difflib
import errno
import os
import re
import socket
import sys
import time
import typing
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Literal, cast

from console import jsonvalue
from console.clients import Target, TargetError, make_client, parse_target
from console.dialects.base import names as dialect_names
from console.security.cli import add_arguments as add_security_arguments
from console.security.cli import policy_from_args
from console.security.policy import SecurityPolicy

COMMANDS = {
    "sim": "run one simulator standalone (main.py sim --help)",
    "record": "record a headless session as a transcript (main.py record --help)",
}


class _Help(argparse.RawDescriptionHelpFormatter):
    """Each flag's default after its help, where it has one worth saying; the epilog as written."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if default is None or default is False or default == [] or default == argparse.SUPPRESS:
            return text
        if "default" in text:
            return text
        return f"{text} (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """argparse with help that shows defaults, and a suggestion for a mistyped flag or command."""

    def __init__(self, prog: str, description: str, epilog: str | None = None) -> None:
        super().__init__(prog=prog, description=description, epilog=epilog, formatter_class=_Help)

    def error(self, message: str) -> typing.NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}{self._suggestion(message)}\n")

    def _suggestion(self, message: str) -> str:
        words: list[str] = []
        if message.startswith("unrecognized arguments:"):
            words = message.split(":", 1)[1].split()
        elif found := re.search(r"invalid choice: '([^']*)'", message):
            words = [found.group(1)]
        known = [flag for action in self._actions for flag in action.option_strings]
        known += [str(c) for action in self._actions for c in (action.choices or ()) if isinstance(c, str)]
        if self.prog == "main.py":
            known += list(COMMANDS)
        for word in words:
            near = difflib.get_close_matches(word.split("=", 1)[0], known, n=1, cutoff=0.6)
            if near:
                return f" (did you mean '{near[0]}'?)"
        return ""


def port_problem(host: str, port: int) -> str | None:
    """Why this process cannot listen on host:port, before anything starts to say it is ready."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"port {port} is in use on {host}: stop what uses it or pass another --port"
            return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    return None


def _listenable(host: str, port: int) -> int:
    """The port, or one line on standard error and exit status 1 if nothing can listen there."""
    if problem := port_problem(host, port):
        print(problem, file=sys.stderr)
        raise SystemExit(1)
    return port


def _dashboard(argv: list[str]) -> int:
    epilog = "commands:\n" + "\n".join(f"  {name:<8} {text}" for name, text in COMMANDS.items())
    parser = Parser("main.py", "Agent Console: watch streaming AI agents.", epilog)
    parser.usage = (
        f"main.py [options]\n       main.py sim {{{','.join(SIMULATORS)}}} [options]\n"
        "       main.py record DIALECT=URL [options]"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address the console listens on")
    parser.add_argument("--port", type=int, default=8080, help="port the console listens on")
    parser.add_argument(
        "--upstream",
        action="append",
        default=[],
        metavar="DIALECT=URL",
        help=f"a server to watch, DIALECT one of {', '.join(dialect_names())} (repeatable); "
        "no simulator session then, unless --demo",
    )
    parser.add_argument(
        "--demo", choices=["normal", "chaos"], help="also run the embedded simulators, in this mode"
    )
    parser.add_argument(
        "--streams",
        type=int,
        default=0,
        help="autopiloted agent sessions for the overview (against the first agent --upstream, if any)",
    )
    parser.add_argument(
        "--sim-processes",
        type=int,
        metavar="K",
        help="serve --streams from K agent simulator processes (0: in the console's own; default: one "
        "from 50 sessions, one per 500 on the cores the console leaves)",
    )
    parser.add_argument("--native", action="store_true", help="open in a desktop window")
    parser.add_argument("--no-show", action="store_true", help="do not open a browser")
    parser.add_argument("--seed", type=int, default=0, help="seed of the embedded simulators")
    parser.add_argument(
        "--sim-time-scale",
        type=float,
        default=1.0,
        help="multiply the embedded simulators' delays (demos, tests)",
    )
    stores = parser.add_mutually_exclusive_group()
    stores.add_argument(
        "--store",
        metavar="PATH|redis://HOST:PORT/N",
        help=f"journal of the sessions (default {_default_store()})",
    )
    stores.add_argument("--no-store", action="store_true", help="keep sessions in memory only")
    stores.add_argument(
        "--follow",
        metavar="redis://HOST:PORT/N",
        help="show the sessions of the console writing there, read-only",
    )
    parser.add_argument(
        "--window",
        action="append",
        default=[],
        metavar="NAME=N",
        help="what each session keeps in memory (repeatable): messages=200, trace_rows=50000, "
        "context_versions=50, snapshot_bytes=4194304, oversized_frames=4; older history stays in the store",
    )
    add_security_arguments(parser)
    parser.add_argument(
        "--otlp",
        metavar="URL",
        help="export every session as OpenTelemetry spans to this OTLP/HTTP endpoint "
        "(default: OTEL_EXPORTER_OTLP_ENDPOINT, if set; nothing is sent otherwise)",
    )
    args = parser.parse_args(argv)
    if (security := policy_from_args(args)) is None:
        return 2
    try:
        upstreams = tuple(parse_target(spec) for spec in args.upstream)
    except TargetError as exc:
        parser.error(str(exc))
    if args.sim_processes is not None and args.sim_processes < 0:
        parser.error(f"--sim-processes: {args.sim_processes} is not a number of processes (0 or more)")
    from console import window_config

    try:
        window_config.configure(window_config.parse(args.window))
    except ValueError as exc:
        parser.error(str(exc))
    from console.dashboard import native_problem

    _listenable(args.host, args.port)
    if args.native and (problem := native_problem()):
        print(f"cannot open a native window: {problem}", file=sys.stderr)
        return 2
    if args.native:
        atexit.register(_explain_closed_window, time.monotonic(), f"http://{args.host}:{args.port}")
    from console.store.backend import StoreError

    try:
        store = None if args.no_store or args.follow else args.store or str(_default_store())
        return _run_dashboard(args, upstreams, security, store)
    except StoreError as exc:
        print(f"cannot use the store: {exc}", file=sys.stderr)
        return 2


def _default_store() -> Path:
    """The journal under the data directory ($AGENT_CONSOLE_DATA, else ~/.local/share/agent-console)."""
    data = os.environ.get("AGENT_CONSOLE_DATA") or Path.home() / ".local" / "share" / "agent-console"
    return Path(data) / "journal.sqlite3"


def _run_dashboard(
    args: argparse.Namespace, upstreams: tuple[Target, ...], security: SecurityPolicy, store: str | None
) -> int:
    from console.dashboard import DashboardConfig, run

    run(
        DashboardConfig(
            host=args.host,
            port=args.port,
            upstreams=upstreams,
            demo=args.demo,
            streams=args.streams,
            sim_processes=args.sim_processes,
            native=args.native,
            show=not args.no_show and not args.native,
            sim_seed=args.seed,
            sim_time_scale=args.sim_time_scale,
            store=store,
            follow=args.follow,
            security=security,
            otlp=args.otlp,
        )
    )
    return 0


NATIVE_WINDOW_SECONDS = 10.0  # a window that closes sooner most likely failed to start


def _explain_closed_window(started: float, url: str) -> None:
    """The console stops when its window closes; a window that failed to start says nothing by itself."""
    if time.monotonic() - started >= NATIVE_WINDOW_SECONDS:
        return
    print(
        "the native window closed right after it opened; it most likely could not start (see the errors "
        "above). A Linux desktop needs pywebview with a GTK backend (python3-gi, gir1.2-webkit2-4.1) or a "
        "Qt one (pip install 'pywebview[qt]'; libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1); as root, "
        f"Qt's web engine also needs QTWEBENGINE_DISABLE_SANDBOX=1. Or run without --native and open {url}",
        file=sys.stderr,
    )


def _sim(argv: list[str]) -> int:
    parser = Parser("main.py sim", "Run a simulator standalone.")
    parser.add_argument("dialect", choices=list(SIMULATORS), help="which server to simulate")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port", type=int, help="port to listen on (default: agent 4747, sse, chat and agui their own)"
    )
    parser.add_argument(
        "--mode", choices=["normal", "chaos"], default="normal", help="chaos: drops, reorders, duplicates"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulated randomness")
    parser.add_argument(
        "--llm-base-url", help="chat: an OpenAI-compatible endpoint (API key from OPENAI_API_KEY)"
    )
    parser.add_argument("--llm-model", help="chat: the model to ask")
    parser.add_argument("--store", help="chat: SQLite file keeping conversations across restarts")
    parser.add_argument(
        "--no-done-tag",
        action="store_true",
        help="chat: end a response with its done message only, as the spec reads (no done tag)",
    )
    parser.add_argument(
        "--stress", action="store_true", help="sse: CRLF, comments, bytes cut at random points"
    )
    parser.add_argument(
        "--no-ids", action="store_true", help="sse, agui: send no event ids (sse: a reconnect replays all)"
    )
    parser.add_argument("--time-scale", type=float, default=1.0, help="agent: multiply the script's delays")
    parser.add_argument(
        "--profile",
        choices=["default", "strict"],
        default="default",
        help="agent: 'strict' behaves as the published agent-server does (one connection, a reconnect "
        "aborts the reply, a reorder buffer that can hold a frame for good)",
    )
    args = parser.parse_args(argv)
    if args.llm_base_url and not args.llm_model:
        parser.error("--llm-base-url needs --llm-model")
    runner = SIMULATORS[args.dialect](args)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(runner)
    return 0


Mode = Literal["normal", "chaos"]


def _sim_agent(args: argparse.Namespace) -> Coroutine[None, None, None]:
    mode = cast(Mode, args.mode)
    if args.profile == "strict":
        from console.sim import agent_strict

        port = args.port or 4747
        print(f"agent simulator ({mode}, strict profile) on ws://{args.host}:{port}/ws", flush=True)
        strict = agent_strict.StrictConfig(mode=mode, seed=args.seed, time_scale=args.time_scale)
        return agent_strict.serve(args.host, port, strict)
    from console.sim.agent import SimConfig, serve

    port = _listenable(args.host, args.port or 4747)
    print(f"agent simulator ({mode}) on ws://{args.host}:{port}/ws", flush=True)
    return serve(args.host, port, SimConfig(mode=mode, seed=args.seed, time_scale=args.time_scale))


def _sim_sse(args: argparse.Namespace) -> Coroutine[None, None, None]:
    from console.sim import sse

    port = _listenable(args.host, args.port or sse.DEFAULT_PORT)
    print(f"SSE conversation simulator on http://{args.host}:{port}/conversation", flush=True)
    stream = sse.SimConfig(
        chaos=args.mode == "chaos", seed=args.seed, stress=args.stress, ids=not args.no_ids
    )
    return sse.serve(args.host, port, stream)


def _sim_agui(args: argparse.Namespace) -> Coroutine[None, None, None]:
    from console.sim import agui

    mode = cast(Mode, args.mode)
    port = _listenable(args.host, args.port or agui.DEFAULT_PORT)
    print(f"AG-UI agent simulator ({mode}) on http://{args.host}:{port}/agent", flush=True)
    agui_config = agui.SimConfig(mode=mode, seed=args.seed, ids=not args.no_ids, time_scale=args.time_scale)
    return agui.serve(args.host, port, agui_config)


def _sim_chat(args: argparse.Namespace) -> Coroutine[None, None, None]:
    from console.sim import chat

    port = _listenable(args.host, args.port or chat.DEFAULT_PORT)
    config = chat.ChatSimConfig(
        seed=args.seed,
        llm_base_url=args.llm_base_url,
        llm_model=args.llm_model,
        store_path=args.store,
        done_tag=not args.no_done_tag,
    )
    return chat.serve(args.host, port, config)  # it says where it listens


# The simulators `main.py sim` runs, by the name of the dialect each serves. Simulators are not part of a
# dialect (the core never imports them), so they are listed here, where the command line composes them.
SIMULATORS: dict[str, Callable[[argparse.Namespace], Coroutine[None, None, None]]] = {
    "agent": _sim_agent,
    "sse": _sim_sse,
    "chat": _sim_chat,
    "agui": _sim_agui,
}


def _write_transcript(transcript: dict[str, jsonvalue.JsonValue], out: Path | None) -> None:
    text = jsonvalue.dumps(transcript, indent=True)
    if out:
        out.write_text(text + "\n")
    else:
        print(text)


def _record(argv: list[str]) -> int:
    parser = Parser("main.py record", "Record a headless session: send the prompts, write the transcript.")
    parser.add_argument(
        "target",
        metavar="DIALECT=URL",
        help=f"the server to record, DIALECT one of {', '.join(dialect_names())}; e.g. agent=ws://127.0.0.1:4747/ws",
    )
    parser.add_argument(
        "--prompt", action="append", default=[], help="sent in order, each after the last reply"
    )
    parser.add_argument("--out", type=Path, help="transcript file (default: standard output)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds for the whole recording")
    args = parser.parse_args(argv)
    from console.record import RecordError, record

    try:
        client = make_client(parse_target(args.target))
        result = asyncio.run(record(client, args.prompt, args.timeout))
    except TargetError as exc:
        print(f"record failed: {exc}", file=sys.stderr)
        return 1
    except RecordError as exc:
        if exc.result is not None:  # what arrived is written all the same
            _write_transcript(exc.result.json(), args.out)
        print(f"record failed: {exc}", file=sys.stderr)
        return 1
    _write_transcript(result.json(), args.out)
    if result.interrupted:
        print(f"record: {result.interrupted} reply(ies) interrupted or failed", file=sys.stderr)
        return 3
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    commands = {"sim": _sim, "record": _record}
    if argv and argv[0] in commands:
        return commands[argv[0]](argv[1:])
    return _dashboard(argv)


# Only as a script: the native window's process imports this module as `__mp_main__`, and running the
# command line there too would end that process before its window opens.
if __name__ == "__main__":
    sys.exit(main())
