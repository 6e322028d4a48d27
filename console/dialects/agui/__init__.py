"""AG-UI: the agent-user interaction protocol (Pydantic AI, LangGraph, CrewAI, ADK, ... emit it)."""
