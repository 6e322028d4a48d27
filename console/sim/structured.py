"""Incremental parser of the model's structured reply: single-level YAML-ish `idea:` / `message:` lines.

The model is told (`console/sim/chat.py`, `SYSTEM_PROMPT`) to answer as:

    idea: "WebSockets"
    idea: "HTTP + SSE"
    message: "Okay, I've saved them!"

and its output streams in arbitrary pieces (a key may be split across pieces). `feed(text)` returns the
`Piece`s that can be told apart so far, `close()` the rest at the end of the stream. Text is released
as soon as it is known to belong to a value; an entry's last piece has `done=True`.

Theory of operation
-------------------
A character-by-character state machine, so where the text was cut never changes the result, only how
it is grouped into pieces:

* LINE: the start of a line is held until it is recognisably a key (`idea:` / `message:`, any case,
  spaces allowed before the colon), a code fence (```` ``` ```` line, skipped when no value is open),
  a blank line, or anything else: plain text, which continues the open unquoted value or, with none
  open, starts a message (a model that ignores the format still gets its words through).
* Quoted values (`"..."` or `'...'`) may span lines and contain colons. Escapes: YAML double-quoted
  ones (`\\"`, `\\n`, `\\uXXXX`, ...) in double quotes; `''` and, leniently, `\\'` in single quotes.
  Models often forget to escape a quote inside a value, so a quote only closes the value when nothing
  but spaces follows it before the line break (or the end): the quote is held until that is known.
* Unquoted values run to the end of the line (trailing spaces dropped) and go on over following
  lines that are not keys, which is how a multi-line message arrives unquoted. A block scalar header
  (`|`, `>`, `|-`...), or nothing after the colon, starts such a value on the next line, its
  indentation removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum, auto
from typing import Literal

Tag = Literal["idea", "message"]
_KEYS: dict[str, Tag] = {"idea": "idea", "message": "message"}

_DQ_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    '"': '"',
    "\\": "\\",
    "/": "/",
    "'": "'",
    " ": " ",
    "0": "\0",
    "b": "\b",
    "f": "\f",
    "\n": "",  # an escaped line break joins the lines (YAML)
}
_HEX_LENGTH = {"x": 2, "u": 4, "U": 8}
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_INLINE_WS = " \t\r"

_KEY_LINE = re.compile(r"[ \t]*([A-Za-z]+)[ \t]*:")
_KEY_PREFIX = re.compile(r"[ \t]*([A-Za-z]*)")
_KEY_THEN_SPACES = re.compile(r"[ \t]*([A-Za-z]+)[ \t]+")
_BLOCK_HEADER = re.compile(r"[|>][-+0-9]*[ \t\r]*")
# Runs of characters that need no decision, consumed at once instead of one by one.
_RUNS = {
    "dq": re.compile(r'[^"\\]+'),
    "sq": re.compile(r"[^'\\]+"),
    "plain": re.compile(r"[^ \t\r\n]+"),
}


@dataclass(frozen=True, slots=True)
class Piece:
    """Text of one entry; consecutive pieces of one tag belong to one entry until one is `done`."""

    tag: Tag
    text: str
    done: bool = False


class _S(Enum):
    LINE = auto()
    FENCE = auto()
    VALUE_START = auto()
    BLOCK_HEADER = auto()
    PLAIN = auto()
    DQ = auto()
    DQ_ESC = auto()
    DQ_HEX = auto()
    DQ_QUOTE = auto()
    SQ = auto()
    SQ_ESC = auto()
    SQ_QUOTE = auto()


class StructuredParser:
    def __init__(self) -> None:
        self._state = _S.LINE
        self._out: list[Piece] = []
        self._tag: Tag | None = None  # the open entry
        self._has_text = False  # the open entry has released text
        self._plain = False  # the open entry is unquoted: following plain lines continue it
        self._dedent: int | None = None  # block scalar: indentation removed from its lines
        self._block = False
        self._line = ""  # LINE: the undecided start of a line
        self._breaks = ""  # line breaks inside an unquoted value, released with the next text
        self._held = ""  # spaces after an unquoted word, a maybe-closing quote, a block header
        self._hex = ""  # DQ_HEX: the escape letter and digits so far

    # -- public -------------------------------------------------------------------------------

    def feed(self, text: str) -> list[Piece]:
        index, end = 0, len(text)
        while index < end:
            run = self._run_pattern()
            if run is not None and (match := run.match(text, index)) is not None:
                self._text(self._take_held() + match.group())
                index = match.end()
                continue
            self._step(text[index])
            index += 1
        return self._drain()

    def close(self) -> list[Piece]:
        """The end of the stream: release what was held and finish the open entry."""
        state, self._state = self._state, _S.LINE
        if state is _S.LINE and self._line.strip():
            self._plain_line()
        elif state is _S.BLOCK_HEADER:
            self._text(self._held)
        elif state is _S.DQ_ESC:
            self._text("\\")
        elif state is _S.DQ_HEX:
            self._text("\\" + self._hex)
        elif state is _S.SQ_ESC:
            self._text("\\")
        self._finish()
        return self._drain()

    # -- the machine --------------------------------------------------------------------------

    def _run_pattern(self) -> re.Pattern[str] | None:
        if self._state is _S.DQ:
            return _RUNS["dq"]
        if self._state is _S.SQ:
            return _RUNS["sq"]
        if self._state is _S.PLAIN:
            return _RUNS["plain"]
        return None

    def _step(self, c: str) -> None:
        match self._state:
            case _S.LINE:
                self._at_line(c)
            case _S.FENCE:
                if c == "\n":
                    self._state = _S.LINE
            case _S.VALUE_START:
                self._at_value_start(c)
            case _S.BLOCK_HEADER:
                self._at_block_header(c)
            case _S.PLAIN:
                self._at_plain(c)
            case _S.DQ:
                self._at_dq(c)
            case _S.DQ_ESC:
                self._at_dq_escape(c)
            case _S.DQ_HEX:
                self._at_dq_hex(c)
            case _S.SQ:
                self._at_sq(c)
            case _S.SQ_ESC:
                self._state = _S.SQ
                if c == "'":
                    self._text("'")
                else:
                    self._text("\\")
                    self._step(c)
            case _S.DQ_QUOTE | _S.SQ_QUOTE:
                self._at_quote(c)

    def _at_line(self, c: str) -> None:
        if c == "\n":
            if self._line.strip():
                self._plain_line()
                self._at_plain("\n")
            elif self._plain and self._has_text:
                self._breaks += "\n"  # a blank line inside a multi-line value
            self._line = ""
            return
        self._line += c
        line = self._line
        if (key := _KEY_LINE.match(line)) is not None and key.group(1).lower() in _KEYS:
            self._line = ""
            self._finish()
            self._begin(_KEYS[key.group(1).lower()])
            self._state = _S.VALUE_START
        elif not self._plain and line.lstrip(" \t").startswith("```"):
            self._line = ""
            self._state = _S.FENCE
        elif not self._could_become_key_or_fence(line):
            self._plain_line()

    def _could_become_key_or_fence(self, line: str) -> bool:
        stripped = line.lstrip(" \t")
        if not stripped or (not self._plain and "```".startswith(stripped)):
            return True
        prefix = _KEY_PREFIX.fullmatch(line)
        if prefix is not None and any(key.startswith(prefix.group(1).lower()) for key in _KEYS):
            return True
        spaced = _KEY_THEN_SPACES.fullmatch(line)
        return spaced is not None and spaced.group(1).lower() in _KEYS

    def _plain_line(self) -> None:
        """The held line start is text: it continues the open unquoted value or starts a message."""
        line, self._line = self._line, ""
        if not self._plain:
            self._finish()
            self._begin("message")
            self._plain = True
        if self._block:
            if self._dedent is None:
                self._dedent = len(line) - len(line.lstrip(" "))
            line = line[min(self._dedent, len(line) - len(line.lstrip(" "))) :]
        elif not self._has_text:
            line = line.lstrip(" \t")
        if self._has_text:
            self._text(self._breaks)
        self._breaks = ""
        self._state = _S.PLAIN
        for c in line:
            self._at_plain(c)

    def _at_value_start(self, c: str) -> None:
        if c in _INLINE_WS:
            return
        if c == '"':
            self._state = _S.DQ
        elif c == "'":
            self._state = _S.SQ
        elif c == "\n":
            # `message:` alone on its line: an indented value follows, read like a block scalar.
            self._plain = self._block = True
            self._state = _S.LINE
        elif c in "|>":
            self._held = c
            self._state = _S.BLOCK_HEADER
        else:
            self._plain = True
            self._state = _S.PLAIN
            self._at_plain(c)

    def _at_block_header(self, c: str) -> None:
        if c == "\n" and _BLOCK_HEADER.fullmatch(self._held):
            self._held = ""
            self._plain = self._block = True
            self._state = _S.LINE
            return
        self._held += c
        if not _BLOCK_HEADER.fullmatch(self._held):
            # Not a header after all (`message: |x|`): it was the start of an unquoted value.
            held, self._held = self._held, ""
            self._plain = True
            self._state = _S.PLAIN
            for h in held:
                self._at_plain(h)

    def _at_plain(self, c: str) -> None:
        if c == "\n":
            self._held = ""  # trailing spaces of a line are not part of the value
            self._breaks = "\n"
            self._state = _S.LINE
        elif c in _INLINE_WS:
            self._held += c
        else:
            self._text(self._take_held() + c)

    def _at_dq(self, c: str) -> None:
        if c == "\\":
            self._state = _S.DQ_ESC
        elif c == '"':
            self._held = c
            self._state = _S.DQ_QUOTE
        else:
            self._text(c)

    def _at_dq_escape(self, c: str) -> None:
        if c in _HEX_LENGTH:
            self._hex = c
            self._state = _S.DQ_HEX
            return
        self._state = _S.DQ
        self._text(_DQ_ESCAPES.get(c, "\\" + c))

    def _at_dq_hex(self, c: str) -> None:
        if c not in _HEX_DIGITS:
            # Not an escape after all: keep it as written.
            self._state = _S.DQ
            self._text("\\" + self._hex)
            self._step(c)
            return
        self._hex += c
        if len(self._hex) - 1 < _HEX_LENGTH[self._hex[0]]:
            return
        self._state = _S.DQ
        code = int(self._hex[1:], 16)
        # A lone surrogate cannot be encoded later on; such escapes stay as written.
        valid = code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF
        self._text(chr(code) if valid else "\\" + self._hex)

    def _at_sq(self, c: str) -> None:
        if c == "\\":
            self._state = _S.SQ_ESC
        elif c == "'":
            self._held = c
            self._state = _S.SQ_QUOTE
        else:
            self._text(c)

    def _at_quote(self, c: str) -> None:
        """After a quote inside a quoted value: it closes the value only if the line ends after it."""
        inside = _S.DQ if self._state is _S.DQ_QUOTE else _S.SQ
        if c == "\n":
            self._held = ""
            self._finish()
            self._state = _S.LINE
        elif c in _INLINE_WS:
            self._held += c
        elif inside is _S.SQ and c == "'" and self._held == "'":
            self._held = ""  # YAML's '' inside single quotes
            self._state = _S.SQ
            self._text("'")
        else:
            self._state = inside
            self._text(self._take_held())
            self._step(c)

    # -- entries and output -------------------------------------------------------------------

    def _take_held(self) -> str:
        held, self._held = self._held, ""
        return held

    def _begin(self, tag: Tag) -> None:
        self._reset_entry()
        self._tag = tag

    def _finish(self) -> None:
        if self._tag is None:
            return
        last = self._out[-1] if self._out else None
        if last is not None and last.tag == self._tag and not last.done:
            self._out[-1] = Piece(last.tag, last.text, True)
        else:
            self._out.append(Piece(self._tag, "", True))
        self._reset_entry()

    def _reset_entry(self) -> None:
        self._tag = None
        self._has_text = self._plain = self._block = False
        self._dedent = None
        self._breaks = self._held = ""

    def _text(self, text: str) -> None:
        if not text or self._tag is None:
            return
        self._has_text = True
        last = self._out[-1] if self._out else None
        if last is not None and last.tag == self._tag and not last.done:
            self._out[-1] = Piece(last.tag, last.text + text, False)
        else:
            self._out.append(Piece(self._tag, text))

    def _drain(self) -> list[Piece]:
        out, self._out = self._out, []
        return out


def assemble(pieces: list[Piece]) -> list[tuple[Tag, str]]:
    """The entries a sequence of pieces spells, each with its whole text."""
    entries: list[tuple[Tag, str]] = []
    open_entry = False
    for piece in pieces:
        if open_entry and entries[-1][0] == piece.tag:
            entries[-1] = (piece.tag, entries[-1][1] + piece.text)
        else:
            entries.append((piece.tag, piece.text))
        open_entry = not piece.done
    return entries


def parse(text: str) -> list[tuple[Tag, str]]:
    """The entries of a complete reply."""
    parser = StructuredParser()
    return assemble(parser.feed(text) + parser.close())


def render(entries: list[tuple[Tag, str]]) -> str:
    """Entries in the structured format, double-quoted and escaped, one per line."""
    return "".join(f"{tag}: {_quote(text)}\n" for tag, text in entries)


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'
