"""Renderable component types: a registry, the built-in types and a generic fallback.

See `components.registry` for how a type is written and how packages add their own.
"""

# `idea` (the chat dialect's idea cards) and `reasoning` (AG-UI) register themselves on import.
from components import idea, reasoning
from components.registry import (
    ENTRY_POINT_GROUP,
    ComponentType,
    ComponentView,
    create_view,
    known_fields,
    load_plugins,
    register,
    registered_types,
    render,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "ComponentType",
    "ComponentView",
    "create_view",
    "idea",
    "known_fields",
    "load_plugins",
    "reasoning",
    "register",
    "registered_types",
    "render",
]
