"""The agent simulator's scripts, pure: what each kind of prompt gets, per seed, with chaos decided at generation."""

from __future__ import annotations

import random

import pytest

from console import jsonvalue
from console.sim import agent_kinds as kinds
from console.sim import agent_scripts as scripts
from console.sim import agent_steps as steps
from console.sim.agent import ChaosRates
from console.sim.agent_kinds import EXAMPLE_PROMPTS, KINDS, Kind

# -- scripts (pure) ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_example_prompts_classify_to_their_kind(kind: Kind) -> None:
    assert kinds.classify(EXAMPLE_PROMPTS[kind]) == kind


def test_classify_matches_whole_words_and_falls_back_to_a_seeded_choice() -> None:
    assert kinds.classify("this is it") is None  # "hi" inside "this" is no greeting
    assert kinds.classify("Hi!") == "greeting"
    picks = {kinds.choose_kind("tell me something", random.Random(i)) for i in range(60)}
    assert picks == set(KINDS) - {"markdown"}  # the Markdown sample is only given when asked for
    assert kinds.choose_kind("xyz", random.Random(7)) == kinds.choose_kind("xyz", random.Random(7))


@pytest.mark.parametrize("kind", KINDS)
def test_scripts_have_the_recorded_shapes(kind: Kind) -> None:
    for seed in range(5):
        script = scripts.build_script(EXAMPLE_PROMPTS[kind], random.Random(seed))
        assert script.kind == kind
        assert script.stream_id.startswith("s_") and len(script.stream_id) == 10
        tokens = [s for s in script.steps if isinstance(s, steps.Token)]
        assert all(1 <= len(t.text.split()) <= 3 for t in tokens)
        assert all(0.03 <= t.delay <= 0.08 for t in tokens[1:])
        for tool in script.tools():
            assert tool.call_id.startswith("tc_") and len(tool.call_id) == 11
            assert 1.0 <= tool.latency <= 2.0
        assert script.text == "".join(
            str(b["text"]) for b in script.blocks() if isinstance(b, dict) and b["kind"] == "text"
        )
        n_tools = len(script.tools())
        expected = {"greeting": (0, 0), "single_tool": (1, 1), "multi_tool": (2, 9), "tool_first": (1, 1)}
        lo, hi = expected.get(kind, (1, 9))
        assert lo <= n_tools <= hi
        if kind == "tool_first":
            assert isinstance(script.steps[0], steps.ToolCalls)
        if kind == "long":
            assert script.word_count >= 2000
        if kind == "large_context":
            assert len(jsonvalue.dumps(script.snapshots()[0].data)) > 500_000


def test_most_responses_open_with_a_snapshot_and_update_it_mid_response() -> None:
    opening = updated = 0
    for seed in range(60):
        kind = KINDS[seed % len(KINDS)]
        script = scripts.build_script(EXAMPLE_PROMPTS[kind], random.Random(seed))
        first = script.steps[1] if kind == "tool_first" else script.steps[0]
        opening += isinstance(first, steps.Snapshot)
        ids = [s.context_id for s in script.snapshots()]
        updated += len(ids) > len(set(ids))
    assert opening >= 45 and updated >= 40


def test_scripts_are_deterministic_per_seed() -> None:
    a = scripts.build_script("hello there", random.Random("s"))
    b = scripts.build_script("hello there", random.Random("s"))
    c = scripts.build_script("hello there", random.Random("t"))
    assert a == b
    assert a.stream_id != c.stream_id


def test_mid_response_snapshot_changes_adds_removes_and_inserts() -> None:
    script = scripts.build_script("summarize the q3 report", random.Random(0))
    before, after = (s.data for s in script.snapshots())
    assert script.snapshots()[0].context_id == script.snapshots()[1].context_id == "ctx_report"
    assert set(after) - set(before)  # added keys
    assert set(before) - set(after)  # removed keys
    assert before["pages"] != after["pages"]  # changed
    sections_before, sections_after = before["sections"], after["sections"]
    assert isinstance(sections_before, list) and isinstance(sections_after, list)
    assert len(sections_after) == len(sections_before) + 1  # an item inserted mid-list
    assert sections_after[-1] == sections_before[-1]


def test_chaos_injection_at_generation_time() -> None:
    rates = ChaosRates.only(rapid_tools=1.0, oversized=1.0, error=1.0, malformed=1.0)
    script = scripts.build_script("summarize the q3 report", random.Random(0), rates)
    assert set(script.chaos) == {"rapid_tools", "oversized", "error", "malformed"}
    calls = [s for s in script.steps if isinstance(s, steps.ToolCalls)]
    assert len(calls[0].calls) == 2
    assert any(len(jsonvalue.dumps(s.data)) > 500_000 for s in script.snapshots())
    normal = scripts.build_script("summarize the q3 report", random.Random(0))
    assert script.text == normal.text  # chaos changes delivery and extras, not what the agent says
    with pytest.raises(ValueError):
        ChaosRates.only(nonsense=1.0)


def test_a_text_is_cut_into_the_same_tokens_for_the_same_seed_and_joins_back_exactly() -> None:
    text = "  The checkout service slowed down after the pool_timeout change,\nand retries doubled the load. "
    for seed in range(50):
        chunks = steps.chunk_words(text, random.Random(seed))
        # One to three words a token, drawn as `choice` draws them: a seed's script never changes.
        reference: list[int] = []
        rng = random.Random(seed)
        words = text.split()
        while sum(reference) < len(words):
            reference.append(rng.choice((1, 2, 2, 2, 3, 3)))
        sizes = [len(c.split()) for c in chunks]
        assert sizes[:-1] == reference[: len(chunks) - 1] and sizes[-1] <= reference[len(chunks) - 1]
        assert "".join(chunks) == text
