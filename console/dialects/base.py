"""What the console knows of a wire dialect without importing it: its descriptor, and the registry.

Theory of operation
-------------------
Each dialect is one package under `console/dialects/` whose `__init__.py` registers a `Dialect`: its
name (what `--upstream NAME=URL`, `record` and the Add-session dialog accept), the URL schemes its
transport speaks, what its sessions can do (`Capabilities`), the trace kinds its rows of streamed text
carry, and a factory for its client. Everything that lists dialects (`console/clients.py`, the command
line, the Add-session dialog, the pages) asks `dialects()` or `find()`; none keeps a list of its own,
so adding a dialect is adding a folder.

`dialects()` imports every package under `console/dialects/` once, which registers the built-in ones;
a dialect that lives elsewhere (a plugin, a test's toy dialect) registers when its package is imported.
The factories import their client when called, not when registered: a simulator that imports a
dialect's `protocol` module does not pull in the I/O stack with it.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the clients' interface; importing it here at run time would be circular
    from console.clients import SessionClient


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What every session of a dialect can do, whatever state it is in. A session declares its own
    (`SessionClient.capabilities`): its dialect's, or less when it is fed from elsewhere (a trace file,
    spans received, another console's journal; see console/capabilities.py)."""

    prompts: bool = True  # takes the user's prompts (an SSE conversation stream does not)
    retry: bool = True  # a reply that failed can be asked for again
    approvals: bool = False  # a run can pause for the user's approval of a tool call
    replay: bool = False  # the user can have the stream shown again from its start
    conversations: bool = False  # several conversations share one connection
    drop: bool = True  # a connection of its own: the user may cut it (to watch it recover) or restart it
    live: bool = True  # False: a recording opened offline; its times are the recording's, not now


@dataclass(frozen=True, slots=True)
class Dialect:
    """One wire dialect, as the rest of the console sees it."""

    name: str  # `NAME=URL` on the command line; lower case, no '='
    summary: str  # one line for help texts and the Add-session dialog
    schemes: tuple[str, ...]  # URL schemes its transport speaks: any other would be retried forever
    client: Callable[[str], SessionClient]  # a new, unstarted session client for a URL
    capabilities: Capabilities = Capabilities()
    text_kinds: frozenset[str] = frozenset()  # trace kinds of the rows that carry streamed text
    example_url: str = ""  # shown as a hint; a URL of one of `schemes`

    def __post_init__(self) -> None:
        if not self.name or "=" in self.name or self.name != self.name.strip().lower():
            raise ValueError(f"a dialect's name is lower case, without '=' or spaces: {self.name!r}")
        if not self.schemes:
            raise ValueError(f"the {self.name} dialect names no URL scheme")


_registry: dict[str, Dialect] = {}
_builtins_loaded = False


def register(dialect: Dialect) -> Dialect:
    """Make `dialect` known by its name; a second, different dialect of the same name is refused."""
    known = _registry.get(dialect.name)
    if known is not None and known is not dialect:
        raise ValueError(f"a dialect named '{dialect.name}' is registered already")
    _registry[dialect.name] = dialect
    return dialect


def _load_builtins() -> None:
    global _builtins_loaded
    if _builtins_loaded:
        return
    _builtins_loaded = True
    import console.dialects as package

    for module in pkgutil.iter_modules(package.__path__):
        if module.ispkg:
            importlib.import_module(f"{package.__name__}.{module.name}")


def dialects() -> tuple[Dialect, ...]:
    """Every registered dialect, by name."""
    _load_builtins()
    return tuple(sorted(_registry.values(), key=lambda dialect: dialect.name))


def names() -> tuple[str, ...]:
    return tuple(dialect.name for dialect in dialects())


def find(name: str) -> Dialect | None:
    """The dialect registered as `name`, if any."""
    _load_builtins()
    return _registry.get(name)
