"""SSE replays recognised from plain strings: a conversation fetched again shows nothing twice."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from console.dialects.sse.protocol import ConversationDecoder
from tests.dialects.sse.test_protocol import (
    EXPECTED,
    chunk_event,
    decode_all,
    errors,
    fold,
    sample_blocks,
    wire,
)

# ----------------------------------------------------------------------------------------------
# Replay recognition
# ----------------------------------------------------------------------------------------------


def test_a_full_replay_shows_nothing_twice() -> None:
    decoder = ConversationDecoder()
    blocks = sample_blocks()
    first = decode_all(decoder, blocks)
    assert decoder.completed == {"msg_0", "msg_1", "msg_2"}
    again = [decoder.decode_sse(b) for b in blocks]
    assert all(r.outcome == "replayed" and r.events == () for r in again)
    assert decoder.stats.replayed == len(blocks)
    assert fold(first) == EXPECTED


def test_a_replay_after_a_cut_at_any_point_completes_the_conversation_exactly_once() -> None:
    blocks = sample_blocks()
    for cut in range(len(blocks) + 1):
        decoder = ConversationDecoder()
        events = decode_all(decoder, blocks[:cut]) + decode_all(decoder, blocks)
        assert errors(events) == [], cut
        assert fold(events) == EXPECTED, cut


def test_a_client_can_be_told_which_messages_are_already_shown() -> None:
    decoder = ConversationDecoder(completed=["msg_0", "msg_1"])
    events = decode_all(decoder, sample_blocks())
    assert list(fold(events)) == ["msg_2"]


@settings(max_examples=40, deadline=None)
@given(st.randoms(use_true_random=False))
def test_chunks_in_any_order_with_duplicates_give_the_text(rng: random.Random) -> None:
    text = "The quick brown fox jumps over the lazy dog, twice over."
    chunks = [chunk_event("m", i, text[p : p + 4]) for i, p in enumerate(range(0, len(text), 4))]
    shuffled = chunks + rng.sample(chunks, k=rng.randint(0, 5))
    rng.shuffle(shuffled)
    decoder = ConversationDecoder()
    blocks = [
        wire("message_start", messageId="m", role="agent"),
        *shuffled,
        wire("message_end", messageId="m"),
    ]
    events = decode_all(decoder, blocks)
    assert errors(events) == []
    assert fold(events)["m"][1] == text
