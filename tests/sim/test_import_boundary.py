"""The simulators and the console core stay apart: read every module's imports (with `ast`, lazy and
type-checking imports included) and hold them to two rules.

1. No module of the console imports the simulators, except the one that composes the embedded default
   simulators (`console/dashboard.py`). A simulator can then move to a process of its own, or be
   replaced by a real agent, without the console noticing.
2. A simulator imports, of the console, only the dialects' protocol modules (the wire format and its
   server-side frame builders), other simulator modules and the generic helpers (`jsonvalue`,
   `frozen`, `heap`, the collector's policy, and `transcript`, the schema of their ground truth). It never reaches into
   engines, sessions, transports or the UI: what it serves is the wire, as any agent would.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "console"
SIM = CONSOLE / "sim"
COMPOSITION = CONSOLE / "dashboard.py"

GENERIC_HELPERS = frozenset({"console.jsonvalue", "console.frozen", "console.heap", "console.transcript"})
# A dialect's sans-I/O wire modules: its decoder (`protocol`) and, where the decoder's module has no
# room for them, the server-side builders beside it (`frames`).
PROTOCOL_MODULE = re.compile(r"^console\.dialects\.\w+\.(protocol|frames)$")
FOREIGN_FRAMEWORKS = ("nicegui", "fastapi")  # the console's UI: a simulator serves the wire only


def imported_modules(path: Path, source: str | None = None) -> set[str]:
    """Every module `path` (or `source`, read as if it were at `path`) imports, absolute, including
    `from package import module` as `package.module` and relative imports resolved against the
    module's package."""
    text = path.read_text(encoding="utf-8") if source is None else source
    tree = ast.parse(text, filename=str(path))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _is_sim(module: str) -> bool:
    return module == "console.sim" or module.startswith("console.sim.")


def core_violations(path: Path, source: str | None = None) -> list[str]:
    """Rule 1 for one module outside console/sim."""
    if path == COMPOSITION:
        return []
    imported = imported_modules(path, source)
    return sorted(f"{path.relative_to(ROOT)} imports {m}" for m in imported if _is_sim(m))


def _allowed_in_sim(name: str) -> bool:
    """`name` is a module or a name in one (`console.jsonvalue.JsonValue`): allowed when it is not the
    console's, or when it lies in a simulator, protocol or generic helper module."""
    if name != "console" and not name.startswith("console."):
        return not name.startswith(FOREIGN_FRAMEWORKS)
    parts = name.split(".")
    prefixes = [".".join(parts[:n]) for n in range(2, len(parts) + 1)]
    return any(_is_sim(p) or p in GENERIC_HELPERS or PROTOCOL_MODULE.match(p) for p in prefixes)


def sim_violations(path: Path, source: str | None = None) -> list[str]:
    """Rule 2 for one simulator module."""
    imported = imported_modules(path, source)
    # `from package import name` lists the package too; the names under it are what is judged.
    leaves = {m for m in imported if not any(other.startswith(f"{m}.") for other in imported)}
    return sorted(f"{path.relative_to(ROOT)} imports {m}" for m in leaves if not _allowed_in_sim(m))


def _modules(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def test_no_console_module_but_the_composition_imports_the_simulators() -> None:
    outside = [p for p in _modules(CONSOLE) if SIM not in p.parents]
    assert COMPOSITION in outside, "the composition module moved: update this test's COMPOSITION"
    assert [v for p in outside for v in core_violations(p)] == []


def test_the_simulators_import_only_protocol_modules_and_generic_helpers() -> None:
    assert [v for p in _modules(SIM) for v in sim_violations(p)] == []


@pytest.mark.parametrize(
    ("where", "source"),
    [
        ("ui/panel.py", "from console.sim.agent import AgentSimulator\n"),
        ("ui/panel.py", "def later() -> None:\n    from console import sim\n"),
        ("ui/panel.py", "from ..sim import chat\n"),
        ("sim/new_sim.py", "from console.dialects.agent.engine import AgentEngine\n"),
        ("sim/new_sim.py", "from console import session\n"),
        ("sim/new_sim.py", "import nicegui.ui\n"),
        ("sim/new_sim.py", "from console.dialects.sse import engine\n"),
        ("sim/new_sim.py", "from console.dialects.agent.client import AgentClient\n"),
        (
            "sim/new_sim.py",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from console.ui import page\n",
        ),
    ],
)
def test_a_module_that_breaks_a_rule_is_named(where: str, source: str) -> None:
    path = CONSOLE / where
    found = sim_violations(path, source) if SIM in path.parents else core_violations(path, source)
    assert found and all(v.startswith(f"console/{where} imports ") for v in found)


def test_protocol_modules_simulators_and_helpers_pass() -> None:
    source = (
        "import websockets\n"
        "from console import jsonvalue\n"
        "from console.jsonvalue import JsonValue\n"
        "from console.dialects.chat import protocol\n"
        "from console.dialects.agent.protocol import ServerFrame\n"
        "from console.dialects.sse import frames\n"
        "from console.sim.pacing import Pacer\n"
    )
    assert sim_violations(SIM / "new_sim.py", source) == []
