"""Simulated upstreams the console is tested and demonstrated against: the agent WebSocket server
(default and strict profiles), the SSE conversation server, the chat server and the AG-UI agent.

They speak only the wire: of the console they import the dialects' protocol modules and the generic
helpers, and of the console only `console/dashboard.py`, which composes the embedded defaults, imports
them (`tests/sim/test_import_boundary.py` holds both rules).
"""
