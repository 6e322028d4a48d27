"""The seq-numbered agent WebSocket dialect: protocol (sans-I/O), engine, trace rows, client."""
