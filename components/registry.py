"""The registry of renderable component types, and what their views share.

A component type is one module: a pydantic model of its fields (all optional, since fields stream in one
by one), a view class that builds its NiceGUI elements in `__init__` and shows fields as they arrive in
`update`, and the registration::

    @register("contact_badge", model=ContactFields)
    class ContactBadgeView:
        def __init__(self) -> None: ...
        def update(self, fields: Mapping[str, JsonValue], complete: bool) -> None: ...

`create_view(type)` builds the view of a type inside the current NiceGUI context (`render(type,
container)` inside a given container); a type nobody registered gets the generic key/value card. The
built-in types are loaded on first use, and so are third-party ones: a package adds types by naming
the module that registers them in the entry-point group `agent_console.components`, e.g. in its
pyproject.toml::

    [project.entry-points."agent_console.components"]
    weather_card = "acme_components.weather"

The root element of every view carries `data-testid="component"` and `data-type=<type>`.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Literal, Protocol, TypeVar

from nicegui import ui
from pydantic import BaseModel, ValidationError

from console import jsonvalue
from console.jsonvalue import JsonValue
from console.ui.stream_text import FieldStream
from console.ui.testid import testid

ENTRY_POINT_GROUP = "agent_console.components"
BUILTIN_MODULES = ("components.contact_badge", "components.calendar_event")

log = logging.getLogger(__name__)


class ComponentView(Protocol):
    def update(self, fields: Mapping[str, JsonValue], complete: bool) -> None:
        """Show `fields` (all received so far); `complete` once the component has ended."""


ViewFactory = Callable[[], ComponentView]
F = TypeVar("F", bound=ViewFactory)
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class ComponentType:
    name: str
    factory: ViewFactory
    model: type[BaseModel] | None

    @property
    def fields(self) -> frozenset[str] | None:
        """The field names on the wire, when a model declares them."""
        if self.model is None:
            return None
        return frozenset(info.alias or name for name, info in self.model.model_fields.items())


_types: dict[str, ComponentType] = {}
_loaded = False
plugin_errors: list[str] = []  # entry points that failed to load, for diagnostics


def register(name: str, *, model: type[BaseModel] | None = None, replace: bool = False) -> Callable[[F], F]:
    """Register a view factory (usually a class) under a component type name."""

    def decorate(factory: F) -> F:
        if name in _types and not replace and _types[name].factory is not factory:
            raise ValueError(f"component type '{name}' is already registered")
        _types[name] = ComponentType(name, factory, model)
        return factory

    return decorate


def unregister(name: str) -> None:
    _types.pop(name, None)


def load_plugins(*, again: bool = False) -> None:
    """Import the built-in types and every module of the entry-point group, once (`again`: look for
    newly installed packages too).

    A plugin that fails to import is logged and skipped: one broken package must not take the console
    down with it.
    """
    global _loaded
    if _loaded and not again:
        return
    _loaded = True
    plugin_errors.clear()
    for module in BUILTIN_MODULES:
        importlib.import_module(module)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            entry.load()
        except Exception as exc:  # a plugin's bug, not ours: report it and go on
            plugin_errors.append(f"{entry.name} ({entry.value}): {exc!r}")
            log.warning("component plugin %s failed to load: %r", entry.value, exc)


def get(name: str) -> ComponentType | None:
    load_plugins()
    return _types.get(name)


def registered_types() -> tuple[str, ...]:
    load_plugins()
    return tuple(sorted(_types))


def known_fields() -> dict[str, frozenset[str]]:
    """Field names per type, for the protocol decoders to report fields a type does not have."""
    load_plugins()
    return {name: fields for name, kind in _types.items() if (fields := kind.fields) is not None}


def create_view(type_name: str) -> ComponentView:
    """Build the view of a component type in the current NiceGUI context."""
    kind = get(type_name)
    if kind is None:
        from components.generic import GenericView  # imported late: generic imports this module

        return GenericView(type_name)
    return kind.factory()


def render(type_name: str, container: ui.element) -> ComponentView:
    with container:
        return create_view(type_name)


# ----------------------------------------------------------------------------------------------
# What views share
# ----------------------------------------------------------------------------------------------


def mark_root(element: ui.element, type_name: str) -> ui.element:
    """The attributes tests and page scripts find components by. Set as prop values, never parsed
    from a props string: the type name may come from upstream."""
    testid(element, "component").props["data-type"] = type_name
    element.props["data-complete"] = "false"
    return element


def mark_complete(element: ui.element, complete: bool) -> None:
    value = "true" if complete else "false"
    if element.props.get("data-complete") != value:
        element.props["data-complete"] = value


def display_text(value: JsonValue, limit: int = 500) -> str:
    """A field value as text: strings as they are, anything else as compact JSON."""
    text = value if isinstance(value, str) else jsonvalue.dumps(value)
    return text if len(text) <= limit else text[:limit] + "…"


def validate_partial(model: type[M], fields: Mapping[str, JsonValue]) -> tuple[M, dict[str, str]]:
    """Validate field by field, so one bad value does not hide the good ones.

    Returns the model built from the valid fields and, per invalid field (by wire name), why.
    """
    good: dict[str, JsonValue] = {}
    problems: dict[str, str] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key not in fields:
            continue
        try:
            model.model_validate({key: fields[key]})
        except ValidationError as exc:
            problems[key] = _reason(exc)
            continue
        good[key] = fields[key]
    return model.model_validate(good), problems


def _reason(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False)
    message = errors[0]["msg"] if errors else str(exc)
    return message.removeprefix("Value error, ")


SlotState = Literal["waiting", "shown", "invalid", "missing"]


class FieldSlot:
    """One field's place in a view: a placeholder until the value arrives, then the value fading in.

    The value label exists from the start with opacity 0, so setting its text and the `ac-in` class in
    one update runs the CSS transition; the link, shown from display:none, fades in by an animation
    instead (a transition cannot start from display:none). A value with a problem is shown as text
    with a hint.
    """

    def __init__(
        self, name: str, *, width: str = "8rem", classes: str = "", link: bool = False, stream: bool = False
    ) -> None:
        """`stream`: the value may grow by appended chunks (a streamed idea); the card it is in sends the
        browser only the new characters (see `FieldStream`), never the text so far."""
        self.name = name
        with ui.element("div").classes("ac-slot min-w-0") as self.box:
            self.placeholder = ui.skeleton("text", width=width).classes("ac-placeholder")
            self.label: ui.label | FieldStream = FieldStream(name) if stream else ui.label("")
            self.label.classes(f"ac-field break-words {classes}")
            self.label.props["dir"] = "auto"  # upstream text: its direction is its own
            self.link = ui.link("", "#").classes(f"ac-appear break-all {classes}") if link else None
            self.hint = ui.label("").classes("ac-hint")
        testid(self.label, f"field-{name}")
        if self.link is not None:
            testid(self.link, f"field-{name}").set_visibility(False)
        self.hint.set_visibility(False)
        self.box.props["data-field"] = name
        self.state: SlotState = "waiting"
        self.box.props["data-state"] = "waiting"
        self._shown: tuple[str, str | None, str | None] | None = None

    def show(self, text: str, *, href: str | None = None, problem: str | None = None) -> None:
        """Show the value (as a link to `href` when given), with a hint when it has a problem."""
        if self._shown == (text, href, problem):
            return  # unchanged: send nothing to the browser
        self._shown = (text, href, problem)
        self.placeholder.set_visibility(False)
        if self.link is not None and href is not None:
            self.label.set_visibility(False)
            self.link.props["href"] = href
            self.link.set_text(text)
            self.link.set_visibility(True)
        else:
            if self.link is not None:
                self.link.set_visibility(False)
            self.label.set_text(text)
            self.label.set_visibility(True)
            self.label.classes(add="ac-in", remove="ac-missing")
        self.hint.set_text(f"⚠ {problem}" if problem else "")
        self.hint.set_visibility(problem is not None)
        self._set_state("invalid" if problem else "shown")

    def missing(self) -> None:
        """The component ended without this field."""
        if self.state == "missing":
            return
        self._shown = None
        self.placeholder.set_visibility(False)
        self.label.set_text("—")
        self.label.classes(add="ac-in ac-missing")
        self._set_state("missing")

    def _set_state(self, state: SlotState) -> None:
        self.state = state
        self.box.props["data-state"] = state

    def apply(
        self,
        fields: Mapping[str, JsonValue],
        problems: Mapping[str, str],
        complete: bool,
        text: str | None,
        *,
        href: str | None = None,
    ) -> None:
        """The common update rule: `text` is the valid value as shown; an invalid value is shown raw."""
        if self.name in problems:
            self.show(display_text(fields[self.name]), problem=problems[self.name])
        elif text is not None:
            self.show(text, href=href)
        elif complete:
            self.missing()
