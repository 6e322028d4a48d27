"""The reorder buffer: strict seq order, each item exactly once, epochs when the server restarts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from console.sequencing import Sequencer, Verdict


def push_all(seqr: Sequencer[str], seqs: list[int], tag: str = "") -> list[str]:
    out: list[str] = []
    for seq in seqs:
        out += seqr.push(seq, hash(f"{tag}{seq}"), f"{tag}{seq}")
    return out


def test_empty_buffer_has_nothing_applied_and_no_gap() -> None:
    seqr: Sequencer[str] = Sequencer()
    assert seqr.last_applied == 0
    assert seqr.resume_seq == 0
    assert not seqr.has_gap
    assert seqr.held == 0


def test_single_element_is_applied_at_once() -> None:
    seqr: Sequencer[str] = Sequencer()
    assert push_all(seqr, [1]) == ["1"]
    assert seqr.last_applied == 1


def test_duplicates_are_dropped_and_counted() -> None:
    seqr: Sequencer[str] = Sequencer()
    assert push_all(seqr, [1, 1, 2, 2, 2, 3]) == ["1", "2", "3"]
    assert seqr.stats.duplicates == 3


def test_fully_reversed_sequence_is_applied_in_order_when_the_first_arrives() -> None:
    seqr: Sequencer[str] = Sequencer()
    out = push_all(seqr, [5, 4, 3, 2])
    assert out == []
    assert seqr.has_gap and seqr.held == 4
    assert push_all(seqr, [1]) == ["1", "2", "3", "4", "5"]
    assert not seqr.has_gap


def test_interleaved_gaps_fill_one_by_one() -> None:
    seqr: Sequencer[str] = Sequencer()
    assert push_all(seqr, [1, 3, 5, 7]) == ["1"]
    assert push_all(seqr, [2]) == ["2", "3"]
    assert push_all(seqr, [6]) == []
    assert push_all(seqr, [4]) == ["4", "5", "6", "7"]
    assert seqr.stats.out_of_order == 4


def test_duplicates_of_already_applied_seqs_are_dropped() -> None:
    seqr: Sequencer[str] = Sequencer()
    push_all(seqr, [1, 2, 3])
    assert push_all(seqr, [2, 1, 3]) == []
    assert seqr.stats.duplicates == 3
    assert seqr.resume_seq == 3


def test_duplicate_of_a_held_item_is_dropped() -> None:
    seqr: Sequencer[str] = Sequencer()
    push_all(seqr, [1, 3, 3])
    assert seqr.stats.duplicates == 1
    assert push_all(seqr, [2]) == ["2", "3"]


def test_seq_restart_at_a_new_response_starts_a_new_epoch() -> None:
    seqr: Sequencer[str] = Sequencer()
    assert push_all(seqr, [1, 2, 3], "a") == ["a1", "a2", "a3"]
    seqr.expect_new_epoch()
    # The server begins the next response at 1 again: different frames, not duplicates.
    assert push_all(seqr, [1, 2], "b") == ["b1", "b2"]
    assert seqr.epoch == 1
    assert seqr.stats.restarts == 1
    assert seqr.stats.duplicates == 0


def test_restart_with_reordering_waits_for_the_new_seq_one() -> None:
    seqr: Sequencer[str] = Sequencer()
    push_all(seqr, [1, 2, 3, 4], "a")
    seqr.expect_new_epoch()
    assert push_all(seqr, [2, 3], "b") == []
    assert seqr.resume_seq == 0  # a replay must start the new numbering from the beginning
    assert push_all(seqr, [1], "b") == ["b1", "b2", "b3"]


def test_stale_duplicate_of_the_old_epoch_is_not_mistaken_for_a_restart() -> None:
    seqr: Sequencer[str] = Sequencer()
    push_all(seqr, [1, 2, 3], "a")
    assert push_all(seqr, [3], "a") == []
    assert seqr.stats.duplicates == 1
    assert not seqr.has_gap
    seqr.expect_new_epoch()
    assert push_all(seqr, [1, 2, 3, 4], "b") == ["b1", "b2", "b3", "b4"]


def test_one_numbering_across_responses_needs_no_restart() -> None:
    seqr: Sequencer[str] = Sequencer()
    push_all(seqr, [1, 2, 3], "a")
    seqr.expect_new_epoch()
    assert seqr.resume_seq == 0
    assert push_all(seqr, [4, 5], "a") == ["a4", "a5"]
    seqr.epoch_began()  # the engine saw the new response's stream
    assert seqr.resume_seq == 5


def test_skip_gap_gives_up_on_missing_seqs_and_reports_them() -> None:
    seqr: Sequencer[str] = Sequencer()
    push_all(seqr, [1, 2, 6, 7])
    missing, applied = seqr.skip_gap()
    assert list(missing) == [3, 4, 5]
    assert applied == ["6", "7"]
    assert not seqr.has_gap


@st.composite
def shuffled_with_duplicates(draw: st.DrawFn) -> tuple[int, list[int]]:
    n = draw(st.integers(min_value=1, max_value=60))
    extra = draw(st.lists(st.integers(min_value=1, max_value=n), max_size=n))
    return n, draw(st.permutations(list(range(1, n + 1)) + extra))


@given(shuffled_with_duplicates())
def test_any_permutation_with_duplicates_applies_each_seq_once_in_order(case: tuple[int, list[int]]) -> None:
    n, seqs = case
    seqr: Sequencer[str] = Sequencer()
    assert push_all(seqr, seqs) == [str(i) for i in range(1, n + 1)]
    assert seqr.stats.duplicates == len(seqs) - n
    assert not seqr.has_gap


def test_a_new_response_that_begins_with_the_same_frame_as_the_last_one_is_not_lost() -> None:
    # Both responses open with the same context snapshot: byte for byte the same frame at seq 1.
    seqr: Sequencer[str] = Sequencer()
    snapshot = hash("snapshot")

    def push(seq: int, fingerprint: int, item: str) -> list[str]:
        return seqr.push(seq, fingerprint, item)

    assert push(1, snapshot, "snap") + push(2, hash("a2"), "a2") + push(3, hash("a3"), "a3") == [
        "snap",
        "a2",
        "a3",
    ]
    seqr.expect_new_epoch()
    assert push(1, snapshot, "snap again") == []  # alone, it may be a duplicate or the first frame
    assert seqr.verdict is Verdict.MAYBE_FIRST  # held, not reported as a dropped duplicate
    assert push(2, hash("b2"), "b2") == ["snap again", "b2"]  # the new numbering shows it was not
    assert push(3, hash("b3"), "b3") == ["b3"]
    assert seqr.stats.duplicates == 0 and seqr.stats.restarts == 1


def test_a_replay_of_the_old_response_after_a_new_prompt_stays_duplicates() -> None:
    seqr: Sequencer[str] = Sequencer()
    push_all(seqr, [1, 2, 3], "a")
    seqr.expect_new_epoch()
    assert push_all(seqr, [1, 2, 3], "a") == []  # RESUME 0 replayed the old response: all known
    assert seqr.stats.duplicates == 2  # and seq 1, which may yet be the new response's first frame
    assert push_all(seqr, [1, 2], "b") == ["b1", "b2"]


def test_a_stray_frame_at_an_old_seq_mid_reply_is_refused_and_applies_nothing_twice() -> None:
    seqr: Sequencer[str] = Sequencer()
    assert push_all(seqr, [1, 2, 3, 4], "a") == ["a1", "a2", "a3", "a4"]
    assert push_all(seqr, [1], "x") == []  # no new response was asked for: not a new numbering
    assert seqr.verdict is Verdict.STRAY and seqr.stats.strays == 1
    assert seqr.epoch == 0 and seqr.resume_seq == 4
    # The replay after it is duplicates, and the numbering goes on.
    assert push_all(seqr, [2, 3, 4], "a") == []
    assert push_all(seqr, [5], "a") == ["a5"]


def test_absurd_seqs_are_refused_without_opening_a_gap() -> None:
    seqr: Sequencer[str] = Sequencer()
    push_all(seqr, [1, 2])
    for seq in (2**62, 0, -5, 3 + 100_001):
        assert seqr.push(seq, hash(seq), "x") == []
        assert seqr.verdict is Verdict.ABSURD
    assert not seqr.has_gap and seqr.stats.absurd == 4
    assert push_all(seqr, [3]) == ["3"]


def test_late_copies_of_the_previous_numbering_stay_out_of_the_new_one() -> None:
    seqr: Sequencer[str] = Sequencer()
    push_all(seqr, [1, 2, 3, 4, 5], "a")
    seqr.expect_new_epoch()
    assert push_all(seqr, [1, 2], "b") == ["b1", "b2"]
    # A copy of the old reply's last frames arrives after the new numbering began.
    assert push_all(seqr, [5, 1], "a") == []
    assert seqr.verdict is Verdict.STALE and not seqr.has_gap
    assert push_all(seqr, [3, 4, 5], "b") == ["b3", "b4", "b5"]


def test_frames_of_the_old_numbering_after_a_new_prompt_do_not_end_the_wait_for_it() -> None:
    # A PING of the old numbering arrives after the prompt went out: the next reply restarts at 1 all
    # the same, and until it begins a RESUME asks for it from the start.
    seqr: Sequencer[str] = Sequencer()
    push_all(seqr, [1, 2, 3], "a")
    seqr.expect_new_epoch()
    assert push_all(seqr, [4], "a") == ["a4"]
    assert seqr.resume_seq == 0
    assert push_all(seqr, [2, 1], "b") == ["b1", "b2"]
    assert seqr.epoch == 1


def test_a_third_reply_that_begins_like_the_first_one_is_applied() -> None:
    # The first and third prompts are the same and their replies open with the same snapshot; the
    # second reply opened with another. The third reply's seq 1 is its own, not a late copy.
    seqr: Sequencer[str] = Sequencer()
    push_all(seqr, [1, 2, 3], "a")
    seqr.expect_new_epoch()
    assert push_all(seqr, [1, 2, 3, 4, 5], "b") == ["b1", "b2", "b3", "b4", "b5"]
    seqr.expect_new_epoch()
    assert push_all(seqr, [1, 2], "a") == ["a1", "a2"]
    assert seqr.epoch == 2 and not seqr.has_gap and seqr.stats.duplicates == 0
