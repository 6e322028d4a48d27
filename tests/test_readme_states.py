"""The README's connection-state diagram is the link's state table, edge for edge, event for event."""

from __future__ import annotations

import re
from pathlib import Path

from console.connection import ConnectionState
from console.link import TABLE, LinkState

README = Path(__file__).resolve().parents[1] / "README.md"


def diagram_edges() -> set[tuple[str, str, str]]:
    text = README.read_text()
    block = re.search(r"```mermaid\nstateDiagram-v2\n(.*?)```", text, re.S)
    assert block, "the README has a Mermaid state diagram"
    return set(re.findall(r"^\s*(\w+) --> (\w+) : (\w+)", block.group(1), re.M))


def test_the_readme_diagram_has_exactly_the_moves_of_the_link_table() -> None:
    code = {(state.value, after.value, event.value) for (state, event), after in TABLE.items()}
    assert diagram_edges() == code


def test_every_link_state_is_in_the_diagram_and_every_shown_state_in_the_readme() -> None:
    states = {s for a, b, _ in diagram_edges() for s in (a, b)}
    assert states == {s.value for s in LinkState}
    section = README.read_text().partition("## Connection states")[2].partition("\n## ")[0]
    assert all(f"`{state.value}`" in section for state in ConnectionState)
