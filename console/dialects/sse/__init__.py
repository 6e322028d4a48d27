"""The SSE conversation dialect: event-stream framing, protocol (sans-I/O), engine, client."""
