"""The memory window a console is started with (`--window NAME=N`) is every new session's."""

from __future__ import annotations

import pytest

from console import window_config
from console.session import Conversation
from console.window import Window


def test_sizes_given_on_the_command_line_are_every_new_sessions_window() -> None:
    window = window_config.parse(["messages=6", "trace-rows=300", "context_versions=2", "oversized_frames=1"])
    assert window == Window(messages=6, trace_rows=300, context_versions=2, oversized_frames=1)
    window_config.configure(window)
    try:
        conversation = Conversation()
        assert conversation.limits.window == window
        assert conversation.trace.limit == 300
        assert conversation.trace.oversized_kept == 1
    finally:
        window_config.configure(Window())
    assert Conversation().limits.window == Window()


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        ("rows=5", "the sizes are context_versions, snapshot_bytes, messages, trace_rows, oversized_frames"),
        ("messages=many", "'many' is not a whole number"),
        ("messages=0", "a size is at least 1"),
    ],
)
def test_a_wrong_size_is_refused_in_words(spec: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        window_config.parse([spec])
