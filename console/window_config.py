"""The memory window as configured for this console (`--window NAME=N`): every session's default.

A session keeps a window of its history in memory (console/window.py) and its store the rest. The
sizes are the console's to choose: a console watching a hundred agents keeps less of each, one
watching a single long session more (and a test a few, to reach the store at once). `configure` is
called once at start, before any session opens; `configured` is what a session's `Limits` start from.
"""

from __future__ import annotations

from dataclasses import fields, replace

from console.window import Window

_window = Window()
NAMES = tuple(f.name for f in fields(Window))


def configured() -> Window:
    return _window


def configure(window: Window) -> None:
    global _window
    _window = window


def parse(specs: list[str], base: Window | None = None) -> Window:
    """`["messages=50", "trace_rows=2000"]` -> the window with those sizes; ValueError in words."""
    window = base or Window()
    for spec in specs:
        name, _, value = spec.partition("=")
        name = name.strip().replace("-", "_")
        if name not in NAMES:
            raise ValueError(f"--window {spec}: the sizes are {', '.join(NAMES)}")
        try:
            size = int(value.replace("_", ""))
        except ValueError:
            raise ValueError(f"--window {spec}: {value!r} is not a whole number") from None
        if size < 1:
            raise ValueError(f"--window {spec}: a size is at least 1")
        window = replace(window, **{name: size})
    return window
