"""The toy dialect on the wire, sans-I/O: `part <text>` and `end` from the server, `say <text>` to it."""

from __future__ import annotations

from console import events as ev

Frame = tuple[str, str]  # (kind, text)


def say(prompt: str) -> str:
    """The client frame that asks for a reply."""
    return f"say {prompt}"


def parse(raw: str | bytes) -> Frame:
    """A frame's kind (upper case, for the timeline) and its text."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    kind, _, rest = text.partition(" ")
    return kind.upper(), rest


class ReplyDecoder:
    """Each reply is one message: its first part opens it, `end` closes it."""

    def __init__(self) -> None:
        self.replies = 0
        self.open: str | None = None  # the stream id of the reply in progress

    def decode(self, frame: Frame) -> list[ev.Event]:
        kind, text = frame
        if kind == "PART":
            events: list[ev.Event] = []
            if self.open is None:
                self.replies += 1
                self.open = f"toy-{self.replies}"
                events.append(ev.MessageStart(self.open))
            return [*events, ev.TextDelta(self.open, text)]
        if kind == "END" and self.open is not None:
            stream, self.open = self.open, None
            return [ev.StreamEnd(stream)]
        return [ev.ProtocolError(f"unexpected {kind or 'empty'} frame", text)]


# -- the server's side --------------------------------------------------------------------------


def part(text: str) -> str:
    return f"part {text}"


END = "end"
