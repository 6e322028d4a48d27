"""Tests of the agent dialect: protocol, engine, client."""
