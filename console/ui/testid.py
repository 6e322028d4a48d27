"""The one way the console names an element for tests.

Browser tests (Playwright) find elements by their `data-testid` attribute; tests of the pages in
NiceGUI's simulated `User` find them by marker. Both come from one name given here, so the two kinds
of test cannot drift apart. Further markers name one of many (`open-<session id>` beside
`session-link`) for `User`, where the browser tests filter by the element's other attributes.

An element of ours that draws several parts in the browser puts the attribute on the part a user
acts on: it declares `dataTestid` among its Vue props (Vue hands `data-testid` to that prop instead of
the root), as the composer's text box does.
"""

from __future__ import annotations

from typing import TypeVar

from nicegui import ui

E = TypeVar("E", bound=ui.element)


def testid(element: E, name: str, *markers: str) -> E:
    """Name `element` `name` for every kind of test (and `markers` for `User` too); returns it.

    Set as a prop value, never parsed from a props string: a name may hold an upstream session id.
    """
    element.props["data-testid"] = name
    element.mark(name, *markers)
    return element
