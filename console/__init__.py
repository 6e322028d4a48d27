"""Agent Console: a real-time console for streaming AI agents."""
