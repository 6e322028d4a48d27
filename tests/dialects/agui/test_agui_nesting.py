"""AG-UI events nested past the console's limit are malformed, not a recursion error further on."""

from __future__ import annotations

from console.dialects.agui import protocol
from console.jsonvalue import MAX_DEPTH


def test_an_event_nested_past_the_limit_is_malformed() -> None:
    deep = "[" * 300 + "]" * 300
    parsed, _ = protocol.parse('{"type": "STATE_SNAPSHOT", "snapshot": {"a": ' + deep + "}}")
    assert isinstance(parsed, protocol.Malformed)
    assert f"nested deeper than {MAX_DEPTH} levels" in parsed.reason


def test_tool_arguments_nested_past_the_limit_stay_text() -> None:
    deep = "[" * 300 + "]" * 300
    assert protocol.json_object(deep) == {"content": deep}
