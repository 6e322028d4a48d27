"""OpenTelemetry: sessions exported as GenAI-convention spans, OTLP traces opened as sessions.

conventions.py  the semantic-conventions version followed and the attribute names used
records.py      what a finished reply, an incident and a context snapshot hold (frozen values)
capture.py      records from a conversation: live (a subscriber) and whole (for a download)
spans.py        records -> spans, through an OpenTelemetry SDK tracer
exporter.py     live export: every session, batched off the event loop to an OTLP/HTTP endpoint
download.py     one session as an OTLP/JSON file
otlp_json.py    OTLP/JSON files (JSON lines of ExportTraceServiceRequest): write and read
spanview.py     decoded spans as frozen values, and their tree
replay.py       an OTLP trace as a read-only session: replies, tool cards, a span tree on the timeline
receive.py      POST /v1/traces: spans an instrumented agent sends, as a growing session
status.py       the export's state and switch on the overview, /metrics, the timeline's OTLP button
"""
