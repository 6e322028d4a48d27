"""The README's connection-state diagram is the state table of the code, edge for edge."""

from __future__ import annotations

import re
from pathlib import Path

from console.connection import TRANSITIONS, ConnectionState

README = Path(__file__).resolve().parents[1] / "README.md"


def diagram_edges() -> set[tuple[str, str]]:
    text = README.read_text()
    block = re.search(r"```mermaid\nstateDiagram-v2\n(.*?)```", text, re.S)
    assert block, "the README has a Mermaid state diagram"
    edges = set(re.findall(r"^\s*(\w+) --> (\w+)", block.group(1), re.M))
    return edges


def test_the_readme_diagram_has_exactly_the_transitions_of_the_code() -> None:
    edges = diagram_edges()
    assert ("[*]", "connecting") not in edges  # the start arrow is not a transition
    code = {(a.value, b.value) for a, b in TRANSITIONS}
    assert edges == code


def test_every_state_of_the_code_is_in_the_diagram() -> None:
    states = {s for edge in diagram_edges() for s in edge}
    assert states == {s.value for s in ConnectionState}
