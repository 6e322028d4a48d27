"""The incremental parser of the model's `idea:`/`message:` output, fed as a model streams it."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from console.sim.structured import Piece, StructuredParser, Tag, assemble, parse, render

SPEC_EXAMPLE = 'idea: "WebSockets"\nidea: "HTTP + SSE"\nmessage: "Okay, I\'ve saved them!"\n'


def feed_pieces(chunks: list[str]) -> list[Piece]:
    parser = StructuredParser()
    pieces = [piece for chunk in chunks for piece in parser.feed(chunk)]
    return pieces + parser.close()


def by_char(text: str) -> list[tuple[Tag, str]]:
    return assemble(feed_pieces(list(text)))


def test_the_spec_example() -> None:
    expected = [("idea", "WebSockets"), ("idea", "HTTP + SSE"), ("message", "Okay, I've saved them!")]
    assert parse(SPEC_EXAMPLE) == expected
    assert by_char(SPEC_EXAMPLE) == expected


def test_single_quotes_and_their_escapes() -> None:
    text = "idea: 'It''s fine'\nidea: 'say \\'hi\\''\nmessage: 'Don't panic'\n"
    assert parse(text) == [("idea", "It's fine"), ("idea", "say 'hi'"), ("message", "Don't panic")]


def test_escaped_double_quotes_and_escape_sequences() -> None:
    text = 'message: "He said \\"hi\\"\\tthen left\\\\ \\u00e9t\\u00e9 \\x41"\n'
    assert parse(text) == [("message", 'He said "hi"\tthen left\\ été A')]


def test_unescaped_quotes_inside_a_value_do_not_cut_it() -> None:
    # Models forget to escape; only a quote that ends the line closes the value.
    assert parse('message: "Call it "Quill", it\'s short"\n') == [("message", 'Call it "Quill", it\'s short')]


def test_colons_and_newlines_inside_values() -> None:
    text = 'idea: "Note: idea: not a key"\nmessage: "Here:\n- a: 1\nmessage: still the same value\\nend"\n'
    assert parse(text) == [
        ("idea", "Note: idea: not a key"),
        ("message", "Here:\n- a: 1\nmessage: still the same value\nend"),
    ]


def test_unquoted_values_and_a_multi_line_message() -> None:
    text = "idea: Whiskers  \nidea: Fluffy\nmessage: Here are names:\n- Whiskers\n\n- Fluffy\n"
    assert parse(text) == [
        ("idea", "Whiskers"),
        ("idea", "Fluffy"),
        ("message", "Here are names:\n- Whiskers\n\n- Fluffy"),
    ]


def test_block_scalar_and_value_on_the_next_line() -> None:
    assert parse("message: |\n  line one\n    indented\n  line three\n") == [
        ("message", "line one\n  indented\nline three")
    ]
    assert parse("idea:\n  Tofu\nmessage:\n  Hello\n  world\n") == [
        ("idea", "Tofu"),
        ("message", "Hello\nworld"),
    ]


def test_keys_ignore_case_and_spaces_before_the_colon() -> None:
    assert parse('Idea : "a"\nMESSAGE:"b"') == [("idea", "a"), ("message", "b")]


def test_text_without_the_format_still_reaches_the_user_as_the_message() -> None:
    assert parse("Sure! I think\nMessage for you: hi") == [("message", "Sure! I think\nMessage for you: hi")]


def test_code_fences_around_the_output_are_dropped() -> None:
    assert parse('```yaml\nidea: "a"\nmessage: "b"\n```\n') == [("idea", "a"), ("message", "b")]


def test_a_stream_cut_short_still_finishes_its_entry() -> None:
    pieces = feed_pieces(['idea: "Web', "Sock"])
    assert assemble(pieces) == [("idea", "WebSock")]
    assert pieces[-1].done


def test_a_key_split_across_chunks() -> None:
    chunks = ["ide", 'a: "Whis', 'kers"\nmes', "sa", "ge: 'Saved", " them!'"]
    assert assemble(feed_pieces(chunks)) == [("idea", "Whiskers"), ("message", "Saved them!")]


def test_text_is_released_as_soon_as_it_is_known() -> None:
    parser = StructuredParser()
    assert parser.feed("idea") == []  # could still be a key
    assert parser.feed(': "Web') == [Piece("idea", "Web")]
    assert parser.feed('Sockets"') == [Piece("idea", "Sockets")]  # the quote waits for the line end
    assert parser.feed("\nmessage: Hel") == [Piece("idea", "", done=True), Piece("message", "Hel")]
    assert parser.feed("lo   ") == [Piece("message", "lo")]  # trailing spaces wait
    assert parser.feed("world") == [Piece("message", "   world")]
    assert parser.close() == [Piece("message", "", done=True)]


def test_render_and_parse_round_trip() -> None:
    entries: list[tuple[Tag, str]] = [("idea", 'a "quoted"\\ idea'), ("message", "two\nlines: ok\r")]
    assert parse(render(entries)) == entries


# -- properties ---------------------------------------------------------------------------------

# Fragments that exercise every rule: keys, quotes, escapes, colons, newlines, spaces, fences.
TOKENS = st.sampled_from(
    [
        "idea",
        "message",
        "Idea",
        ":",
        " ",
        "  ",
        "\n",
        "\r\n",
        '"',
        "'",
        "\\",
        '\\"',
        "''",
        "\\n",
        "\\u00e9",
        "\\x4",
        "|",
        ">-",
        "```",
        "- ",
        "word",
        "é",
        "\t",
        "#",
        "1.",
    ]
)


def split_at(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts})
    bounds = [0, *points, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


def well_formed(pieces: list[Piece]) -> bool:
    """No empty piece except a done marker; every entry ends with exactly one done piece."""
    open_tag: Tag | None = None
    for piece in pieces:
        if not piece.text and not piece.done:
            return False
        if open_tag is not None and piece.tag != open_tag:
            return False
        open_tag = None if piece.done else piece.tag
    return open_tag is None


@settings(max_examples=300, deadline=None)
@given(
    tokens=st.lists(TOKENS | st.text(max_size=4), max_size=40),
    cuts=st.lists(st.integers(0, 10_000), max_size=12),
)
def test_any_split_gives_what_feeding_it_whole_gives(tokens: list[str], cuts: list[int]) -> None:
    text = "".join(tokens)
    whole = feed_pieces([text])
    split = feed_pieces(split_at(text, cuts))
    assert assemble(split) == assemble(whole)
    assert well_formed(split) and well_formed(whole)


entry = st.tuples(st.sampled_from(["idea", "message"]), st.text(max_size=30))


@settings(max_examples=200, deadline=None)
@given(entries=st.lists(entry, max_size=6), cuts=st.lists(st.integers(0, 10_000), max_size=12))
def test_rendered_entries_come_back_whatever_the_split(
    entries: list[tuple[Tag, str]], cuts: list[int]
) -> None:
    text = render(entries)
    assert assemble(feed_pieces(split_at(text, cuts))) == entries
