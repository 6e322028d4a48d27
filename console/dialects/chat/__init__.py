"""The chat WebSocket dialect: several conversations on one connection; protocol (sans-I/O), engine, client."""
