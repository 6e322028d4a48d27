"""One chat response on the wire, sans-I/O: the responder's pieces cut into entry chunks of at least
`min_chunk` characters, ideas before the one message, as the dialect asks (docs/protocols/chat.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

from console.dialects.chat.protocol import entry_frame
from console.sim.structured import Piece, Tag


@dataclass(slots=True)
class Chunker:
    """Cuts one entry's streamed text into wire chunks of at least `min_chunk` characters.

    The last character seen is held back until more text or the end comes, so the entry's final
    chunk (the one with `done: true`) is never empty unless the entry is.
    """

    min_chunk: int
    _buffer: str = ""

    def push(self, text: str) -> list[str]:
        self._buffer += text
        if len(self._buffer) <= self.min_chunk:
            return []
        chunk, self._buffer = self._buffer[:-1], self._buffer[-1:]
        return [chunk]

    def finish(self) -> str:
        rest, self._buffer = self._buffer, ""
        return rest


@dataclass(slots=True)
class ResponseWriter:
    """Turns the responder's pieces into the frames of one response, keeping the wire to the spec.

    "the model outputs only one message per response, and any ideas appear before the message": a
    second `message:` from the model continues the first (after a blank line) and the message is done
    only when the response ends; an idea that comes once the message has begun waits for the
    message's end instead of splitting it.
    """

    chat_id: str
    min_chunk: int
    entries: list[tuple[Tag, str]] = field(default_factory=list)
    _idea: Chunker | None = None
    _idea_text: str = ""
    _message: Chunker | None = None
    _message_text: str = ""
    _between_messages: bool = False
    _late_ideas: list[str] = field(default_factory=list)
    _seen_text: bool = False

    @property
    def empty(self) -> bool:
        """Nothing to show so far: no text in any entry."""
        return not self._seen_text

    def piece(self, piece: Piece) -> list[str]:
        self._seen_text = self._seen_text or bool(piece.text)
        if piece.tag == "message":
            return self._message_piece(piece)
        if self._message is not None:
            self._idea_text += piece.text
            if piece.done:
                self._late_ideas.append(self._idea_text)
                self._idea_text = ""
            return []
        return self._idea_piece(piece)

    def note(self, text: str) -> list[str]:
        """A paragraph of our own at the end of the message (e.g. why the answer stops there)."""
        self._between_messages = True
        return self.piece(Piece("message", text, True))

    def finish(self) -> list[str]:
        frames: list[str] = []
        if self._message is not None and self._idea_text:  # a late idea the stream cut short
            self._late_ideas.append(self._idea_text)
            self._idea_text = ""
        if self._idea is not None:  # an idea the stream cut short
            frames += self._idea_piece(Piece("idea", "", True))
        if self._message is not None:
            frames.append(entry_frame("message", self._message.finish(), self.chat_id, done=True))
            self.entries.append(("message", self._message_text))
            self._message = None
        for idea in self._late_ideas:
            frames += self._idea_piece(Piece("idea", idea, True))
        self._late_ideas = []
        return frames

    def _idea_piece(self, piece: Piece) -> list[str]:
        if self._idea is None:
            self._idea, self._idea_text = Chunker(self.min_chunk), ""
        self._idea_text += piece.text
        frames = [entry_frame("idea", chunk, self.chat_id) for chunk in self._idea.push(piece.text)]
        if piece.done:
            if self._idea_text:
                frames.append(entry_frame("idea", self._idea.finish(), self.chat_id, done=True))
                self.entries.append(("idea", self._idea_text))
            self._idea, self._idea_text = None, ""
        return frames

    def _message_piece(self, piece: Piece) -> list[str]:
        frames: list[str] = []
        if self._message is None:
            if self._idea is not None:  # entries never interleave: the idea is over
                frames += self._idea_piece(Piece("idea", "", True))
            self._message = Chunker(self.min_chunk)
        text = piece.text
        if text and self._message_text and self._between_messages:
            text = "\n\n" + text  # a second message entry continues the first, as a new paragraph
        if text:
            self._between_messages = False
        self._message_text += text
        frames += [entry_frame("message", chunk, self.chat_id) for chunk in self._message.push(text)]
        if piece.done:
            self._between_messages = True
        return frames
