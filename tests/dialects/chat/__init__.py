"""Tests of the chat dialect: protocol, engine, client."""
