"""The JSON diff: changes with paths, replayable by apply, arrays aligned rather than shifted."""

from __future__ import annotations

import copy

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.diff import Change, ListRow, _lcs, changed_paths, diff, list_rows
from console.diff_apply import ApplyError, apply
from console.jsonvalue import JsonValue, loads


def strict(value: JsonValue) -> bytes:
    """Canonical text: equal only for strictly equal values (1, 1.0 and True differ)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def roundtrips(old: JsonValue, new: JsonValue, **options: int) -> list[Change]:
    changes = diff(old, new, **options)
    assert strict(apply(old, changes)) == strict(new)
    return changes


# --- objects ---------------------------------------------------------------------------------------


def test_identical_inputs_give_no_changes() -> None:
    doc: JsonValue = {"a": [1, {"b": None}], "c": "x"}
    assert diff(doc, doc) == []
    assert diff(doc, loads(orjson.dumps(doc))) == []


def test_key_order_is_not_a_change() -> None:
    assert diff({"a": 1, "b": [{"x": 1, "y": 2}]}, {"b": [{"y": 2, "x": 1}], "a": 1}) == []


def test_added_removed_and_replaced_keys() -> None:
    changes = roundtrips({"keep": 1, "gone": 2, "edit": "a"}, {"keep": 1, "edit": "b", "new": [3]})
    assert changes == [
        Change("remove", ("gone",), old=2),
        Change("replace", ("edit",), old="a", new="b"),
        Change("add", ("new",), new=[3]),
    ]


def test_nested_change_has_the_full_path() -> None:
    old: JsonValue = {"schema": {"tables": [{"name": "t", "columns": [{"name": "c", "type": "int"}]}]}}
    new: JsonValue = {"schema": {"tables": [{"name": "t", "columns": [{"name": "c", "type": "text"}]}]}}
    assert roundtrips(old, new) == [
        Change("replace", ("schema", "tables", 0, "columns", 0, "type"), old="int", new="text")
    ]


def test_unicode_keys() -> None:
    changes = roundtrips({"clé": {"数据": 1, "🙂": "a"}}, {"clé": {"数据": 2, "🙂": "a", "ß": None}})
    assert changes == [
        Change("replace", ("clé", "数据"), old=1, new=2),
        Change("add", ("clé", "ß"), new=None),
    ]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ({"a": 1}, [1]),  # object -> array
        (5, None),  # value -> null
        (1, True),  # equal in Python, different in JSON
        (True, 1),
        (1, 1.0),
        (0.0, -0.0),
        ("1", 1),
        ({}, []),
    ],
)
def test_type_changes_are_one_replace(old: JsonValue, new: JsonValue) -> None:
    changes = roundtrips({"v": old}, {"v": new})
    assert [(c.op, c.path) for c in changes] == [("replace", ("v",))]
    assert strict(changes[0].old) == strict(old)
    assert strict(changes[0].new) == strict(new)


def test_type_change_hidden_inside_equal_looking_containers() -> None:
    # [1, {"x": 1}] == [True, {"x": 1.0}] in Python; both differences must be reported.
    changes = roundtrips({"a": [1, {"x": 1}]}, {"a": [True, {"x": 1.0}]})
    assert {c.path for c in changes} == {("a", 0), ("a", 1, "x")}


def test_root_scalars() -> None:
    assert roundtrips(1, "one") == [Change("replace", (), old=1, new="one")]
    assert diff(None, None) == []


def test_empty_containers() -> None:
    assert roundtrips({}, {"a": {}}) == [Change("add", ("a",), new={})]
    assert roundtrips({"a": []}, {"a": [1, 2]}) == [
        Change("add", ("a", 0), new=1),
        Change("add", ("a", 1), new=2),
    ]
    assert roundtrips([{}], []) == [Change("remove", (0,), old={})]
    assert diff({"a": {}}, {"a": {}}) == []


def test_deep_nesting_200_levels() -> None:
    old: JsonValue = "leaf"
    new: JsonValue = "changed"
    for level in range(200):
        old, new = {f"k{level}": old}, {f"k{level}": new}
    changes = roundtrips(old, new)
    assert len(changes) == 1
    assert len(changes[0].path) == 200
    assert changes[0].path[0] == "k199"


def test_nesting_beyond_the_serializer_limit_still_diffs() -> None:
    old: JsonValue = [1]
    new: JsonValue = [True]
    for _ in range(400):
        old, new = [old], [new]
    changes = diff(old, new)
    assert [c.op for c in changes] == ["replace"]
    assert len(changes[0].path) == 401
    assert diff(old, copy.deepcopy(old)) == []


def test_integers_beyond_64_bits() -> None:
    big = 2**70
    assert diff([big, {"n": big}], [big, {"n": big}]) == []
    assert diff([big], [big + 1]) == [Change("replace", (0,), old=big, new=big + 1)]


# --- arrays ----------------------------------------------------------------------------------------


def test_insertion_in_the_middle_is_one_add() -> None:
    old: list[JsonValue] = [{"t": i} for i in range(10)]
    new: JsonValue = [*old[:5], {"t": "new"}, *old[5:]]
    assert roundtrips(old, new) == [Change("add", (5,), new={"t": "new"})]


def test_removal_in_the_middle_is_one_remove_at_the_old_index() -> None:
    old: list[JsonValue] = [str(i) for i in range(10)]
    new: JsonValue = [*old[:3], *old[4:]]
    assert roundtrips(old, new) == [Change("remove", (3,), old="3")]


def test_scattered_insertions_and_removals_are_found() -> None:
    old: list[JsonValue] = [f"line {i}" for i in range(100)]
    new: list[JsonValue] = list(old)
    del new[70]
    new.insert(40, "inserted")
    del new[10]
    changes = roundtrips(old, new)
    assert sorted((c.op, c.path) for c in changes) == [("add", (39,)), ("remove", (10,)), ("remove", (70,))]


def test_insertion_next_to_an_edit_pairs_the_edited_items() -> None:
    old: JsonValue = [{"n": 1, "v": "a"}, {"n": 2, "v": "b"}, {"n": 3, "v": "c"}]
    new: JsonValue = [{"n": 1, "v": "a"}, {"n": 9, "v": "x"}, {"n": 2, "v": "B"}, {"n": 3, "v": "c"}]
    assert roundtrips(old, new) == [
        Change("add", (1,), new={"n": 9, "v": "x"}),
        Change("replace", (2, "v"), old="b", new="B"),
    ]


def test_id_keyed_items_are_matched_by_id() -> None:
    old: JsonValue = [{"id": "a", "v": 1}, {"id": "b", "v": 2}, {"id": "c", "v": 3}]
    new: JsonValue = [{"id": "b", "v": 2}, {"id": "x", "v": 0}, {"id": "c", "v": 30}]
    assert roundtrips(old, new) == [
        Change("remove", (0,), old={"id": "a", "v": 1}),
        Change("add", (1,), new={"id": "x", "v": 0}),
        Change("replace", (2, "v"), old=3, new=30),
    ]


def test_id_keyed_reordering_moves_only_the_moved_item() -> None:
    old: list[JsonValue] = [{"name": f"t{i}", "rows": i} for i in range(6)]
    new: list[JsonValue] = [old[4], old[0], old[1], old[2], old[3], old[5]]
    changes = roundtrips(old, new)
    assert changes == [Change("add", (0,), new=old[4]), Change("remove", (4,), old=old[4])]


def test_different_ids_at_the_same_place_are_not_diffed_into_each_other() -> None:
    changes = roundtrips([{"id": 1, "v": "same"}], [{"id": 2, "v": "same"}])
    assert [(c.op, c.path) for c in changes] == [("remove", (0,)), ("add", (0,))]


def test_duplicate_ids_fall_back_to_content_matching() -> None:
    # Matched by id, the second old item would be diffed into the second new one ("q" -> "p"); by
    # content, one item is kept and the other moved.
    old: JsonValue = [{"id": 1, "v": "p"}, {"id": 1, "v": "q"}]
    new: JsonValue = [{"id": 1, "v": "q"}, {"id": 1, "v": "p"}]
    changes = roundtrips(old, new)
    assert sorted((c.op, c.path) for c in changes) == [("add", (1,)), ("remove", (0,))]


def test_boolean_ids_do_not_name_items() -> None:
    # Were True/False ids, these would be two different items (remove + add); they are one item edited.
    changes = roundtrips([{"id": True, "v": "x"}], [{"id": False, "v": "x"}])
    assert changes == [Change("replace", (0, "id"), old=True, new=False)]


def test_beyond_the_work_bound_arrays_are_compared_index_wise() -> None:
    old: list[JsonValue] = [f"item {i}" for i in range(50)]
    new: list[JsonValue] = [*old[:10], "x", "y", *old[10:]]
    aligned = roundtrips([0, *old, 0], [1, *new, 1])
    index_wise = roundtrips([0, *old, 0], [1, *new, 1], max_align_work=0)
    assert len(aligned) == 4
    assert len(index_wise) > 40
    assert all(c.op in ("replace", "add") for c in index_wise)


# --- apply -----------------------------------------------------------------------------------------


def test_apply_never_mutates_its_input() -> None:
    old: JsonValue = {"a": [1, 2, {"b": [3]}], "c": {"d": 1}}
    new: JsonValue = {"a": [2, {"b": [3, 4]}, 5], "c": {"e": 1}}
    before = strict(old)
    result = apply(old, diff(old, new))
    assert strict(old) == before
    assert strict(result) == strict(new)


def test_apply_without_changes_is_the_same_value() -> None:
    assert apply({"a": 1}, []) == {"a": 1}


@pytest.mark.parametrize(
    ("value", "change"),
    [
        ({"a": 1}, Change("remove", ("b",), old=1)),
        ([1, 2], Change("remove", (2,), old=1)),
        ([1, 2], Change("add", (5,), new=1)),
        ([1, 2], Change("replace", (2,), old=1, new=2)),
        ({"a": 1}, Change("replace", ("a", "b"), old=1, new=2)),
        ({"a": [1]}, Change("replace", ("a", "0"), old=1, new=2)),
        ({"a": 1}, Change("replace", (0,), old=1, new=2)),
        ({"a": 1}, Change("remove", (), old=1)),
    ],
)
def test_apply_rejects_changes_that_do_not_fit(value: JsonValue, change: Change) -> None:
    with pytest.raises(ApplyError):
        apply(value, [change])


def test_apply_inserts_adds_in_ascending_index_whatever_their_order() -> None:
    changes = [Change("add", (3,), new="d"), Change("add", (0,), new="a"), Change("add", (2,), new="c")]
    assert apply(["b"], changes) == ["a", "b", "c", "d"]


def test_apply_order_within_an_array() -> None:
    # Removes address the old array, adds and edits the new one.
    changes = [
        Change("replace", (1, "v"), old=2, new=20),
        Change("add", (0,), new={"v": 0}),
        Change("remove", (0,), old={"v": 1}),
    ]
    assert apply([{"v": 1}, {"v": 2}], changes) == [{"v": 0}, {"v": 20}]


# --- tree view helpers -----------------------------------------------------------------------------


def test_changed_paths_are_the_ancestors_to_expand() -> None:
    old: JsonValue = {"a": {"b": [1, {"c": 1}]}, "d": 1, "e": {"f": 1}}
    new: JsonValue = {"a": {"b": [1, {"c": 2}]}, "d": 2, "e": {"f": 1}}
    assert changed_paths(diff(old, new)) == {(), ("a",), ("a", "b"), ("a", "b", 1)}
    assert changed_paths([]) == frozenset()


def test_list_rows_show_removed_items_at_their_old_place() -> None:
    old: list[JsonValue] = ["a", "b", "c", {"d": 1}]
    new: list[JsonValue] = ["a", "x", "c", {"d": 2}, "y"]
    changes = roundtrips({"l": old}, {"l": new})
    assert list_rows(changes, ("l",), len(old), len(new)) == [
        ListRow("same", 0, 0),
        ListRow("changed", 1, 1),
        ListRow("same", 2, 2),
        ListRow("changed", 3, 3),
        ListRow("added", None, 4),
    ]
    changes = roundtrips({"l": ["a", "b", "c"]}, {"l": ["x", "a", "c"]})
    assert list_rows(changes, ("l",), 3, 3) == [
        ListRow("added", None, 0),
        ListRow("same", 0, 1),
        ListRow("removed", 1, None),
        ListRow("same", 2, 2),
    ]


def test_list_rows_reject_changes_for_other_lengths() -> None:
    with pytest.raises(ValueError):
        list_rows([Change("add", (0,), new=1)], (), 2, 2)


# --- properties ------------------------------------------------------------------------------------

# Few distinct scalars, so that arrays share items and alignment has something to find; the ones that
# Python's == conflates are all there.
scalars = st.one_of(
    st.sampled_from([None, True, False, 0, 1, 1.0, 0.0, -0.0, "", "a", "1", "é", "🙂"]),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
keys = st.one_of(st.sampled_from(["id", "name", "a", "b", "ключ", "🔑", ""]), st.text(max_size=4))
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=8) | st.dictionaries(keys, children, max_size=6),
    max_leaves=20,
)
small_values = st.recursive(scalars, lambda children: st.lists(children, max_size=3), max_leaves=4)


@st.composite
def edited(draw: st.DrawFn, value: JsonValue, depth: int = 0) -> JsonValue:
    """`value` with a few random edits: what a new snapshot looks like next to the old one."""
    roll = draw(st.integers(0, 9))
    if roll == 0 or depth > 6:
        return draw(json_values) if roll == 0 else value
    if isinstance(value, dict):
        out = dict(value)
        for key in list(out):
            action = draw(st.sampled_from(["keep", "keep", "edit", "drop"]))
            if action == "edit":
                out[key] = draw(edited(out[key], depth + 1))
            elif action == "drop":
                del out[key]
        for key in draw(st.lists(keys, max_size=2)):
            out[key] = draw(json_values)
        return out
    if isinstance(value, list):
        items = list(value)
        for _ in range(draw(st.integers(0, 4))):
            action = draw(st.sampled_from(["insert", "delete", "edit", "move"]))
            if action == "insert" or not items:
                items.insert(draw(st.integers(0, len(items))), draw(json_values))
            elif action == "delete":
                del items[draw(st.integers(0, len(items) - 1))]
            elif action == "edit":
                i = draw(st.integers(0, len(items) - 1))
                items[i] = draw(edited(items[i], depth + 1))
            else:
                items.insert(
                    draw(st.integers(0, len(items) - 1)), items.pop(draw(st.integers(0, len(items) - 1)))
                )
        return items
    return draw(scalars) if roll < 5 else value


@st.composite
def related_pairs(draw: st.DrawFn) -> tuple[JsonValue, JsonValue]:
    old = draw(json_values)
    return old, draw(edited(old))


id_items = st.lists(
    st.fixed_dictionaries({"id": st.integers(0, 30) | st.sampled_from(["a", "b", "c"]), "v": small_values}),
    max_size=10,
    unique_by=lambda item: str(item["id"]),
)


@settings(max_examples=200, deadline=None)
@given(json_values, json_values)
def test_apply_of_diff_gives_new_for_unrelated_values(old: JsonValue, new: JsonValue) -> None:
    roundtrips(old, new)


@settings(max_examples=400, deadline=None)
@given(related_pairs())
def test_apply_of_diff_gives_new_for_edited_values(pair: tuple[JsonValue, JsonValue]) -> None:
    old, new = pair
    before = strict(old)
    roundtrips(old, new)
    roundtrips(old, new, max_align_work=0)
    assert strict(old) == before  # neither diff nor apply mutates


@settings(max_examples=150, deadline=None)
@given(id_items, st.data())
def test_id_keyed_arrays_match_items_by_id(old: list[JsonValue], data: st.DataObject) -> None:
    new: list[JsonValue] = []
    for item in data.draw(st.permutations(old)):
        assert isinstance(item, dict)
        action = data.draw(st.sampled_from(["keep", "keep", "edit", "drop"]))
        if action == "edit":
            new.append({**item, "v": data.draw(small_values)})
        elif action == "keep":
            new.append(item)
    for fresh in data.draw(st.lists(st.integers(100, 110), max_size=3, unique=True)):
        new.insert(data.draw(st.integers(0, len(new))), {"id": fresh, "v": None})
    changes = roundtrips({"items": old}, {"items": new})
    # Items are only ever diffed into the item of the same id.
    assert not [c for c in changes if c.path[2:] == ("id",)]


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_diff_of_a_value_with_itself_or_a_copy_is_empty(value: JsonValue) -> None:
    assert diff(value, value) == []
    assert diff(value, copy.deepcopy(value)) == []


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 3), max_size=12), st.lists(st.integers(0, 3), max_size=12))
def test_list_rows_lay_out_both_versions(old: list[JsonValue], new: list[JsonValue]) -> None:
    rows = list_rows(diff(old, new), (), len(old), len(new))
    assert [old[r.old_index] for r in rows if r.old_index is not None] == old
    assert [new[r.new_index] for r in rows if r.new_index is not None] == new
    kept = [(r.old_index, r.new_index) for r in rows if r.status == "same"]
    assert all(old[i] == new[j] for i, j in kept if i is not None and j is not None)


def lcs_length(a: list[int], b: list[int]) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 4), max_size=25), st.lists(st.integers(0, 4), max_size=25))
def test_alignment_finds_a_longest_common_subsequence(a: list[int], b: list[int]) -> None:
    runs = _lcs(a, b, budget=10**9)
    assert runs is not None
    assert sum(length for _, _, length in runs) == lcs_length(a, b)
    for i, j, length in runs:
        assert a[i : i + length] == b[j : j + length]
    assert [i for i, _, _ in runs] == sorted(i for i, _, _ in runs)
