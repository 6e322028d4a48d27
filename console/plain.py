"""Failures in words a person understands, with the technical detail kept for whoever wants it.

Transports report what the operating system or a parser said ("[Errno 111] Connect call failed",
"Expecting ',' delimiter: line 1 column 9"). `explain` turns the ones people meet into a sentence; the
original stays next to it (a tooltip, the terminal's second half) for whoever needs to dig.
"""

from __future__ import annotations

import re

# (pattern in the detail, lower-cased) -> the sentence. First match wins.
_KNOWN: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), sentence)
    for pattern, sentence in (
        (
            r"errno 111|connection refused|connect call failed|econnrefused",
            "nothing is listening at that address",
        ),
        (
            r"errno -[235]\b|name or service not known|nodename nor servname|getaddrinfo|name resolution",
            "the host name could not be found",
        ),
        (
            r"errno 113|no route to host|network is unreachable|errno 101",
            "the network cannot reach that host",
        ),
        (r"timed out|timeout|errno 110", "the server did not answer in time"),
        (r"ssl|certificate|tls", "the secure connection could not be set up (TLS)"),
        (
            r"unsupported protocol|invalid ?ur[il]|isn't a valid uri|not a valid uri",
            "that is not an address the console can connect to",
        ),
        (r"\b40[13]\b|forbidden|unauthori[sz]ed", "the server refused access"),
        (r"\b404\b|not found", "the server has nothing at that path"),
        (r"\b5\d\d\b", "the server had an internal error"),
        (r"connection reset|errno 104|broken pipe|errno 32", "the connection was cut"),
        (
            r"expecting|json|unterminated string|delimiter|extra data|invalid control character",
            "the server sent something that is not valid JSON",
        ),
        (
            r"handshake|invalid status|did not upgrade|upgrade",
            "the server did not accept a WebSocket connection",
        ),
    )
)


def explain(detail: str) -> str:
    """A sentence for a raw failure, or the detail itself when it already reads as one."""
    lowered = detail.lower()
    for pattern, sentence in _KNOWN:
        if pattern.search(lowered):
            return sentence
    return detail


def with_detail(detail: str) -> str:
    """The sentence, then the raw detail in brackets when it says more: for one line of text."""
    sentence = explain(detail)
    return sentence if sentence == detail else f"{sentence} ({detail})"
