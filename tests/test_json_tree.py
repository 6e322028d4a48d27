"""The tree of a context snapshot: rows, lazy levels, diff marks, jumps and search."""

from __future__ import annotations

import time

import pytest

from console.diff import diff
from console.json_rows import (
    PAGE,
    ROOT,
    STRING_PREVIEW,
    Address,
    Level,
    Row,
    brief,
    format_path,
    inline_preview,
)
from console.json_search import search
from console.json_tree import Step
from console.jsonvalue import JsonObject, JsonValue


def rows(level: Level | None) -> list[Row]:
    assert level is not None
    return list(level.rows)


def marks(level: Level | None) -> list[tuple[str | int | None, str]]:
    return [(row.key, row.mark) for row in rows(level)]


# --- paths and addresses ---------------------------------------------------------------------------


def test_paths_read_like_javascript() -> None:
    assert format_path(()) == "$"
    assert format_path(("tables", 3, "name")) == "$.tables[3].name"
    assert format_path(("a key", "ünï", "$ok", "9lives")) == '$["a key"]["ünï"].$ok["9lives"]'
    assert format_path(('quote"d',)) == '$["quote\\"d"]'


def test_addresses_survive_the_round_trip_to_the_browser() -> None:
    for address in (ROOT, Address(("a", 0, "b")), Address(("items",), (3, "x"))):
        assert Address.decode(address.encode()) == address


@pytest.mark.parametrize(
    "garbage",
    [None, 3, "", "not json", "[]", "[[1]]", '[["a"],[true]]', '[["a"],{}]', "[[1.5],[]]", '{"a":1}'],
)
def test_anything_else_from_the_browser_is_not_an_address(garbage: object) -> None:
    assert Address.decode(garbage) is None


# --- rows ------------------------------------------------------------------------------------------


def test_rows_carry_type_count_and_a_readable_text() -> None:
    doc: JsonObject = {
        "s": "hi",
        "n": 1.5,
        "i": 7,
        "b": False,
        "z": None,
        "small": {"a": 1},
        "big": {f"k{i}": "x" * 20 for i in range(10)},
        "list": [1, 2, 3],
        "empty": [],
    }
    by_key = {row.key: row for row in rows(Step.first(doc).level(ROOT))}
    assert [(r.kind, r.text) for r in (by_key["s"], by_key["n"], by_key["b"], by_key["z"])] == [
        ("string", '"hi"'),
        ("number", "1.5"),
        ("boolean", "false"),
        ("null", "null"),
    ]
    assert (by_key["small"].kind, by_key["small"].text, by_key["small"].count) == ("object", '{"a":1}', 1)
    assert (by_key["big"].text, by_key["big"].count) == ("", 10)  # too long inline: "{10 keys}" collapsed
    assert (by_key["list"].kind, by_key["list"].count) == ("array", 3)
    assert (by_key["empty"].text, by_key["empty"].count) == ("[]", 0)
    assert by_key["n"].to_json()["p"] == "$.n"


def test_long_strings_are_cut_and_say_how_long_they_are() -> None:
    text = "é" * (STRING_PREVIEW * 10)
    row = rows(Step.first({"doc": text}).level(ROOT))[0]
    assert row.truncated and row.count == len(text)
    assert len(row.text) == STRING_PREVIEW + 2  # quoted
    assert Step.first({"doc": text}).text_of(Address(("doc",))) == text


def test_objects_in_arrays_are_named_by_their_name_or_id() -> None:
    tables: list[JsonValue] = [{"name": f"table_{i}", "columns": list(range(40))} for i in range(3)]
    hints = [row.hint for row in rows(Step.first({"tables": tables}).level(Address(("tables",))))]
    assert hints == ['name: "table_0"', 'name: "table_1"', 'name: "table_2"']


def test_inline_preview_gives_up_early_on_big_containers() -> None:
    huge: list[JsonValue] = list(range(1_000_000))
    started = time.perf_counter()
    assert inline_preview(huge) is None
    assert time.perf_counter() - started < 0.01
    assert inline_preview({"a": [1, 2]}) == '{"a":[1,2]}'
    assert brief({"k": "v" * 200}) == "{1 key}"
    assert brief("x" * 500).endswith("…")


# --- lazy levels -----------------------------------------------------------------------------------


def test_a_level_is_one_window_of_one_container_and_nothing_below() -> None:
    doc: JsonObject = {"items": [{"id": i, "deep": {"deeper": list(range(50))}} for i in range(1000)]}
    step = Step.first(doc)
    level = step.level(Address(("items",)), 200, PAGE)
    assert level is not None
    assert (level.start, level.total, len(level.rows)) == (200, 1000, PAGE)
    assert [row.key for row in level.rows[:2]] == [200, 201]
    assert all(row.kind == "object" and row.count == 2 for row in level.rows)
    # The payload of a level stays small whatever lies below its rows.
    assert len(str(level.to_json())) < 150 * PAGE


def test_windows_are_clamped_and_non_containers_have_no_level() -> None:
    step = Step.first({"a": [1, 2, 3], "s": "x"})
    level = step.level(Address(("a",)), 2, 100)
    assert level is not None and [row.key for row in level.rows] == [2]
    assert step.level(Address(("s",))) is None
    assert step.level(Address(("missing",))) is None
    assert step.level(Address(("a", 9))) is None


def test_a_stale_or_bogus_address_has_no_value() -> None:
    step = Step.first({"a": {"b": 1}})
    assert step.text_of(Address(("a", "zz"))) is None
    assert step.text_of(Address(("a",), ("b",))) is None  # no previous snapshot: nothing removed
    assert step.text_of(Address(("a",))) == '{\n  "b": 1\n}'


# --- diff marks ------------------------------------------------------------------------------------


def test_added_removed_and_changed_members_are_marked_in_place() -> None:
    old: JsonObject = {"keep": 1, "gone": True, "edit": "before", "tail": 0}
    new: JsonObject = {"keep": 1, "edit": "after", "tail": 0, "fresh": [1]}
    step = Step.between(old, new)
    # The removed member stays where it was (after "keep"), struck through by the view.
    assert marks(step.level(ROOT)) == [
        ("keep", ""),
        ("gone", "removed"),
        ("edit", "changed"),
        ("tail", ""),
        ("fresh", "added"),
    ]
    edit = rows(step.level(ROOT))[2]
    assert (edit.old, edit.text) == ('"before"', '"after"')
    assert step.counts() == {"added": 1, "removed": 1, "changed": 1}


def test_an_array_shows_removed_items_at_their_old_place() -> None:
    old: JsonObject = {"xs": ["a", "b", "c", "d"]}
    new: JsonObject = {"xs": ["a", "c", "X", "d"]}
    level = Step.between(old, new).level(Address(("xs",)))
    shown = [(row.key, row.mark, row.text, row.address.removed) for row in rows(level)]
    assert shown == [
        (0, "", '"a"', False),
        (1, "removed", '"b"', True),
        (1, "", '"c"', False),
        (2, "added", '"X"', False),
        (3, "", '"d"', False),
    ]


def test_below_an_added_or_removed_container_every_row_says_so() -> None:
    old: JsonObject = {"old": {"x": {"y": 1}}, "same": 0}
    new: JsonObject = {"new": {"p": [1, 2]}, "same": 0}
    step = Step.between(old, new)
    assert marks(step.level(Address(("new",)))) == [("p", "added")]
    assert marks(step.level(Address(("new", "p")))) == [(0, "added"), (1, "added")]
    removed = next(row for row in rows(step.level(ROOT)) if row.key == "old")
    assert removed.address == Address((), ("old",))
    assert marks(step.level(removed.address)) == [("x", "removed")]
    assert marks(step.level(Address((), ("old", "x")))) == [("y", "removed")]
    assert step.text_of(Address((), ("old", "x", "y"))) == "1"


def test_a_value_that_changed_type_shows_old_and_new() -> None:
    step = Step.between({"v": {"a": 1}}, {"v": [1, 2]})
    row = rows(step.level(ROOT))[0]
    assert (row.mark, row.old, row.kind) == ("changed", '{"a":1}', "array")
    assert marks(step.level(Address(("v",)))) == [(0, "added"), (1, "added")]


def test_removed_items_below_shifted_array_items_are_found_in_the_old_document() -> None:
    # Item "b" moved from old index 1 to new index 2 (an insert before it) and lost a member.
    old: JsonObject = {"xs": [{"id": "a"}, {"id": "b", "tmp": 9, "keep": 1}]}
    new: JsonObject = {"xs": [{"id": "a"}, {"id": "n"}, {"id": "b", "keep": 1}]}
    step = Step.between(old, new)
    assert marks(step.level(Address(("xs",)))) == [(0, ""), (1, "added"), (2, "")]
    assert rows(step.level(Address(("xs",))))[2].inner
    assert marks(step.level(Address(("xs", 2)))) == [("id", ""), ("tmp", "removed"), ("keep", "")]
    assert step.text_of(Address(("xs", 2), ("tmp",))) == "9"
    assert step.old_path(("xs", 2)) == ("xs", 1)
    assert step.old_path(("xs", 1)) is None


def test_containers_with_changes_below_are_flagged_inner() -> None:
    step = Step.between({"a": {"b": {"c": 1}}, "z": {"q": 1}}, {"a": {"b": {"c": 2}}, "z": {"q": 1}})
    top = {row.key: row for row in rows(step.level(ROOT))}
    assert top["a"].inner and not top["z"].inner
    assert not rows(step.level(Address(("a", "b"))))[0].inner  # the change itself is "changed", not inner


def test_the_first_snapshot_has_no_marks() -> None:
    step = Step.first({"a": [1, {"b": 2}]})
    assert not step.has_previous and step.counts() == {"added": 0, "removed": 0, "changed": 0}
    assert all(row.mark == "" and not row.inner for row in rows(step.level(Address(("a",)))))


def test_change_summaries_name_each_change_for_the_jump_list() -> None:
    step = Step.between({"a": 1, "gone": [1, 2, 3], "xs": [1]}, {"a": 2, "xs": [1, {"k": "v"}]})
    shown = [(s.op, s.path, s.old, s.new) for s in step.summaries()]
    assert shown == [
        ("changed", "$.a", "1", "2"),
        ("removed", "$.gone", "[1,2,3]", None),
        ("added", "$.xs[1]", None, '{"k":"v"}'),
    ]
    assert step.summaries()[1].address == Address((), ("gone",))


# --- views and jumps -------------------------------------------------------------------------------


def test_a_step_opens_on_the_levels_leading_to_the_changes() -> None:
    old: JsonObject = {
        "meta": {"version": 1},
        "items": [{"id": i, "title": f"item {i}"} for i in range(3000)],
    }
    new: JsonObject = {
        "meta": {"version": 1},
        "items": [{"id": i, "title": f"item {i}"} for i in range(3000)],
    }
    changed = new["items"]
    assert isinstance(changed, list) and isinstance(changed[2500], dict)
    changed[2500]["title"] = "renamed"
    step = Step.between(old, new)
    levels = step.initial_levels()
    assert [level.address for level in levels] == [ROOT, Address(("items",)), Address(("items", 2500))]
    items = levels[1]
    assert items.start <= 2500 < items.start + len(items.rows)  # the window is placed on the change
    assert marks(levels[2]) == [("id", ""), ("title", "changed")]
    assert sum(len(level.rows) for level in levels) < 150


def test_the_opening_view_keeps_to_its_row_budget() -> None:
    old: JsonObject = {"items": [{"id": i, "v": 0} for i in range(2000)]}
    new: JsonObject = {"items": [{"id": i, "v": 1} for i in range(2000)]}
    levels = Step.between(old, new).initial_levels(budget=300)
    assert sum(len(level.rows) for level in levels) <= 300 + 2


def test_what_the_user_opened_stays_open_on_the_next_step() -> None:
    doc: JsonObject = {"a": {"b": {"c": 1}}, "x": 1}
    levels = Step.between(doc, {**doc, "x": 2}).initial_levels([Address(("a",)), Address(("a", "b"))])
    assert [level.address for level in levels] == [ROOT, Address(("a",)), Address(("a", "b"))]


def test_reveal_sends_every_level_down_to_a_path_with_the_target_in_its_window() -> None:
    doc: JsonObject = {"items": [{"id": i, "tags": ["t"] * 5} for i in range(5000)]}
    step = Step.first(doc)
    target = Address(("items", 4321, "tags", 3))
    levels = step.reveal(target)
    assert [level.address for level in levels] == [
        ROOT,
        Address(("items",)),
        Address(("items", 4321)),
        Address(("items", 4321, "tags")),
    ]
    for level, wanted in zip(levels, [*(lv.address for lv in levels[1:]), target], strict=True):
        assert wanted in [row.address for row in level.rows]


def test_reveal_reaches_rows_that_exist_only_in_the_old_document() -> None:
    step = Step.between({"xs": [{"id": 1, "deep": {"k": 1}}, {"id": 2}]}, {"xs": [{"id": 2}]})
    target = Address(("xs",), (0, "deep", "k"))
    levels = step.reveal(target)
    assert [level.address for level in levels] == [
        ROOT,
        Address(("xs",)),
        Address(("xs",), (0,)),
        Address(("xs",), (0, "deep")),
    ]
    assert target in [row.address for row in levels[-1].rows]


def test_a_five_megabyte_document_opens_in_milliseconds() -> None:
    doc: JsonObject = {
        "docs": [{"id": i, "body": "word " * 200, "tags": list(range(20))} for i in range(5000)]
    }
    started = time.perf_counter()
    step = Step.first(doc)
    levels = step.initial_levels()
    level = step.level(Address(("docs",)), 2500)
    elapsed = time.perf_counter() - started
    assert levels[0].rows[0].count == 5000 and level is not None
    assert elapsed < 0.05


# --- search ----------------------------------------------------------------------------------------


def test_search_finds_keys_and_values_case_insensitively_in_document_order() -> None:
    doc: JsonObject = {"Owner": "ada", "items": [{"name": "Lovelace"}, {"owner_id": 7}], "n": 1707}
    result = search(doc, "owner")
    assert [(hit.path, hit.where) for hit in result.hits] == [
        (("Owner",), "key"),
        (("items", 1, "owner_id"), "key"),
    ]
    assert search(doc, "LOVE").hits[0].path == ("items", 0, "name")
    assert search(doc, "170").hits[0].path == ("n",)  # numbers by their JSON text
    assert search(doc, "   ").hits == () and search(doc, "absent").complete


def test_search_stops_at_its_limit_and_says_so() -> None:
    doc: list[JsonValue] = [{"k": "match"} for _ in range(1000)]
    result = search(doc, "match", limit=10)
    assert len(result.hits) == 10 and not result.complete
    assert result.hits[0].address == Address((0, "k"))


def test_search_walks_deep_documents_without_recursion() -> None:
    doc: JsonValue = "needle"
    for _ in range(5000):
        doc = {"d": doc}
    hits = search(doc, "needle").hits
    assert len(hits) == 1 and len(hits[0].path) == 5000


def test_steps_replay_the_diff_engine() -> None:
    old: JsonObject = {"a": [1, 2, 3], "b": {"c": None}}
    new: JsonObject = {"a": [2, 3, 4], "b": {"c": 0}}
    assert list(Step.between(old, new).changes) == diff(old, new)
