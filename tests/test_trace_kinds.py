"""The trace kind registry: every kind a dialect emits is registered, each with one category."""

from __future__ import annotations

import pytest
from ag_ui import core

from console.dialects.agent import protocol as agent
from console.dialects.chat import protocol as chat
from console.dialects.sse.members import EVENT_TYPES as SSE_EVENT_TYPES
from console.trace_kinds import CATEGORY, KINDS, Category, as_kind, browser_table, category, register_kinds


def test_every_kind_has_one_category_and_the_browser_gets_them_all_in_chip_order() -> None:
    assert set(CATEGORY) == set(KINDS) and len(set(KINDS)) == len(KINDS)
    table = browser_table()
    assert set(KINDS) <= {kind for kind, _ in table}  # and the kinds dialects registered of their own
    order = [Category(c) for _, c in table]
    assert order == sorted(order, key=list(Category).index)  # chips sort by category


def test_every_wire_type_of_every_dialect_is_a_registered_kind() -> None:
    wire = (
        set(agent.SERVER_FRAME_TYPES)
        | {name.upper() for name in SSE_EVENT_TYPES}
        | {tag.upper() for tag in (*chat.ENTRY_TAGS, "done")}
        | {event.value for event in core.EventType}
    )
    assert wire <= set(KINDS)
    assert {as_kind(name) for name in wire} == wire


def test_a_name_no_one_registered_is_an_unknown_event_and_an_old_row_kind_is_a_part() -> None:
    assert as_kind("SOMETHING_NEW") == "UNKNOWN_EVENT"
    assert category("SOMETHING_NEW") is Category.PART
    # What each dialect calls a piece of text is TEXT: the timeline groups them alike.
    assert {category(k) for k in ("TOKEN", "TEXT_CHUNK", "MESSAGE", "TEXT_MESSAGE_CONTENT")} == {
        Category.TEXT
    }


def test_a_dialect_registers_kinds_of_its_own_and_cannot_recategorize_a_known_one() -> None:
    register_kinds({"CHIRP": Category.TEXT, "CHIRP_END": Category.END})
    chirp: str = as_kind("CHIRP")  # a kind registered at run time: a plain name to mypy
    assert chirp == "CHIRP" and category("CHIRP") is Category.TEXT
    assert ["CHIRP", "text"] in browser_table()
    with pytest.raises(ValueError, match="TOKEN is a text already"):
        register_kinds({"TOKEN": Category.END, "OTHER_NEW": Category.PART})
    assert category("TOKEN") is Category.TEXT and as_kind("OTHER_NEW") == "UNKNOWN_EVENT"  # nothing taken
