"""Embedded upstream simulators: the agent WebSocket server (normal and chaos), and friends."""
