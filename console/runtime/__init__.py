"""What every dialect's client shares at run time: the engine's link keeping, the WebSocket and HTTP-stream loops."""
