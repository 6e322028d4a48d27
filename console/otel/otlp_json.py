"""OTLP/JSON files: JSON lines, each an `ExportTraceServiceRequest` (what the OpenTelemetry file
exporter, the collector's file exporter, Logfire and Phoenix write).

Encoding and decoding are protobuf's JSON mapping (`google.protobuf.json_format`) over the official
OTLP messages, with the two rules where OTLP/JSON departs from that mapping: trace and span ids are
hex strings, not base64, and enums are integers. Files written with base64 ids (the plain protobuf
mapping, as some tools do) are read too.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan

from console import jsonvalue
from console.jsonvalue import JsonObject, JsonValue
from console.trace_io import TraceFormatError

_ID_KEYS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")
_ID_LENGTHS = (16, 32)  # hex digits of a span id, of a trace id


class OtlpFormatError(TraceFormatError):
    """The text is not OTLP/JSON."""


def looks_like_otlp(text: str) -> bool:
    """Whether a file's start is OTLP/JSON (cheap: the first few kilobytes only)."""
    head = text[:4096]
    return '"resourceSpans"' in head or '"resource_spans"' in head


# -- writing ----------------------------------------------------------------------------------------


def encode(spans: Sequence[ReadableSpan]) -> str:
    """Spans as one OTLP/JSON line (with its newline); empty for no spans."""
    if not spans:
        return ""
    request = encode_spans(spans)
    tree = json_format.MessageToDict(request, use_integers_for_enums=True)
    return jsonvalue.dumps(_ids(tree, _b64_to_hex)) + "\n"


def encode_request(request: ExportTraceServiceRequest) -> str:
    tree = json_format.MessageToDict(request, use_integers_for_enums=True)
    return jsonvalue.dumps(_ids(tree, _b64_to_hex)) + "\n"


# -- reading ----------------------------------------------------------------------------------------


def decode(text: str) -> tuple[list[ExportTraceServiceRequest], list[str]]:
    """The requests of a file, and the lines that could not be used (why). Raises OtlpFormatError
    when nothing is usable."""
    requests: list[ExportTraceServiceRequest] = []
    problems: list[str] = []
    stripped = text.strip()
    # One (pretty-printed) document, or JSON lines.
    chunks = [(1, stripped)] if _one_document(stripped) else list(enumerate(text.splitlines(), start=1))
    for number, source in chunks:
        if not source.strip():
            continue
        try:
            requests.append(decode_json(source))
        except OtlpFormatError as exc:
            problems.append(f"line {number}: {exc}")
    if not requests:
        reason = problems[0] if problems else "the file is empty"
        raise OtlpFormatError(f"no OTLP spans found: {reason}")
    return requests, problems


def decode_json(source: str | bytes) -> ExportTraceServiceRequest:
    try:
        value = jsonvalue.loads(source)
    except jsonvalue.JsonDecodeError as exc:
        raise OtlpFormatError(f"not JSON ({exc})") from exc
    if not isinstance(value, dict) or not ("resourceSpans" in value or "resource_spans" in value):
        raise OtlpFormatError("not an ExportTraceServiceRequest (no resourceSpans)")
    request = ExportTraceServiceRequest()
    try:
        json_format.ParseDict(_ids(value, _hex_to_b64), request, ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise OtlpFormatError(f"not OTLP/JSON ({exc})") from exc
    return request


def decode_protobuf(body: bytes) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except DecodeError as exc:
        raise OtlpFormatError(f"not an OTLP protobuf request ({exc})") from exc
    return request


def _one_document(text: str) -> bool:
    if "\n" not in text:
        return False
    try:
        value = jsonvalue.loads(text)
    except jsonvalue.JsonDecodeError:
        return False
    return isinstance(value, dict)


# -- ids ------------------------------------------------------------------------------------------


def _ids(value: JsonObject, convert: Callable[[str], str]) -> JsonObject:
    """The request with every trace, span and link id converted; the rest as it was."""
    return {key: _convert(key, item, convert) for key, item in value.items()}


def _convert(key: str, value: JsonValue, convert: Callable[[str], str]) -> JsonValue:
    if isinstance(value, str):
        return convert(value) if key in _ID_KEYS else value
    if isinstance(value, dict):
        return _ids(value, convert)
    if isinstance(value, list):
        # Attribute values hold no ids: only the spine (resourceSpans, scopeSpans, spans, links) is
        # walked, and arrays of scalars are kept as they are.
        return [_convert(key, item, convert) if isinstance(item, dict) else item for item in value]
    return value


def _b64_to_hex(value: str) -> str:
    try:
        return base64.b64decode(value, validate=True).hex()
    except (binascii.Error, ValueError):
        return value


def _hex_to_b64(value: str) -> str:
    """OTLP/JSON ids are hex; protobuf's JSON mapping wants base64. Base64 ids pass unchanged."""
    if len(value) in _ID_LENGTHS:
        try:
            return base64.b64encode(bytes.fromhex(value)).decode()
        except ValueError:
            pass
    return value
