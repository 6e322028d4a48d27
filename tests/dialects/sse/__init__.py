"""Tests of the sse dialect: protocol, engine, client."""
