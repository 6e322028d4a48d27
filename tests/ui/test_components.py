"""Component views in a page (NiceGUI User fixture): fields appear as they stream in, upstream values
never become script or markup, and types nobody registered still show their fields."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from nicegui import ui
from nicegui.testing import User

from components import registry
from components.calendar_event import CalendarEventView, build_ics
from components.registry import ComponentView, create_view
from console.jsonvalue import JsonValue
from console.security.policy import SecurityPolicy, current, set_current
from tests.helpers import free_port

# Pages are defined in the tests themselves: no main file to run.
pytestmark = pytest.mark.nicegui_main_file("")

ROOT = Path(__file__).resolve().parents[2]

AVATAR = "data:image/png;base64,iVBORw0KGgo="


def everything(user: User) -> list[ui.element]:
    assert user.client is not None
    return list(user.client.layout.descendants())


def component_roots(user: User) -> list[ui.element]:
    return [e for e in everything(user) if e.props.get("data-testid") == "component"]


def slot_states(root: ui.element) -> dict[str, str]:
    return {
        e.props["data-field"]: e.props["data-state"] for e in root.descendants() if "data-state" in e.props
    }


def images(user: User) -> list[ui.element]:
    return [e for e in everything(user) if e.tag == "img"]


async def open_view(user: User, type_name: str) -> ComponentView:
    views: list[ComponentView] = []

    @ui.page("/")
    def page() -> None:
        views.append(create_view(type_name))

    await user.open("/")
    return views[0]


@pytest.fixture(autouse=True)
def image_policy() -> Iterator[None]:
    before = current()
    yield
    set_current(before)


@pytest.fixture
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_CONSOLE_LOCALE", "en-US")


async def test_contact_badge_shows_placeholders_then_each_field_as_it_arrives(user: User) -> None:
    view = await open_view(user, "contact_badge")
    [root] = component_roots(user)
    assert root.props["data-type"] == "contact_badge"
    assert slot_states(root) == {"name": "waiting", "company": "waiting", "email": "waiting"}
    await user.should_see(kind=ui.skeleton)

    fields: dict[str, JsonValue] = {"name": "John Carter"}
    view.update(fields, False)
    await user.should_see("John Carter")
    await user.should_see("JC")  # initials in the avatar
    assert slot_states(root) == {"name": "shown", "company": "waiting", "email": "waiting"}

    fields["email"] = "john.carter@example.com"
    view.update(fields, False)
    await user.should_see("john.carter@example.com")
    [link] = user.find(kind=ui.link, marker="field-email").elements
    assert link.props["href"] == "mailto:john.carter@example.com"

    fields["profilePicture"] = AVATAR
    view.update(fields, False)
    [image] = images(user)
    assert image.props["src"] == AVATAR

    view.update(fields, True)  # ended without a company
    assert slot_states(root) == {"name": "shown", "company": "missing", "email": "shown"}
    assert root.props["data-complete"] == "true"
    await user.should_not_see(kind=ui.skeleton)


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        " JaVaScRiPt:alert(1)",
        "java\nscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "//evil.example/track.png",
        "file:///etc/passwd",
    ],
)
async def test_a_picture_url_that_is_not_http_or_data_image_is_never_loaded(user: User, url: str) -> None:
    view = await open_view(user, "contact_badge")
    view.update({"name": "John Carter", "profilePicture": url}, True)
    assert images(user) == []
    assert not any(url.strip() in str(value) for e in everything(user) for value in e.props.values())
    await user.should_see("JC")
    await user.should_see("picture not shown: only http(s) and data:image URLs are loaded")


async def test_a_picture_that_fails_to_load_leaves_the_initials(user: User) -> None:
    set_current(SecurityPolicy(image_hosts=("img.example",)))  # reset by the image_policy fixture
    view = await open_view(user, "contact_badge")
    view.update({"name": "Ada Lovelace", "profilePicture": "https://img.example/ada.png"}, False)
    [image] = images(user)
    assert image.props["src"] == "https://img.example/ada.png"
    user.find(marker="avatar-image").trigger("error")
    assert images(user) == []
    await user.should_see("AL")
    # The same broken URL arriving again (a replayed field) is not retried.
    view.update({"name": "Ada Lovelace", "profilePicture": "https://img.example/ada.png"}, True)
    assert images(user) == []


async def test_invalid_field_values_are_shown_as_text_with_a_hint(user: User) -> None:
    view = await open_view(user, "contact_badge")
    view.update({"name": ["not", "a", "name"], "email": 42, "company": "Acme"}, True)
    [root] = component_roots(user)
    assert slot_states(root) == {"name": "invalid", "company": "shown", "email": "invalid"}
    await user.should_see('["not","a","name"]')
    await user.should_see("42")
    await user.should_not_see(kind=ui.link)  # no mailto for something that is not an address
    view.update({"name": "Ann", "email": "ann at example"}, True)
    await user.should_see("not an email address")


async def test_calendar_event_formats_date_and_time_and_colours_the_status(
    user: User, english: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENT_CONSOLE_TZ", "Europe/Paris")
    view = await open_view(user, "calendar_event")
    [root] = component_roots(user)
    fields: dict[str, JsonValue] = {"title": "Meeting with John"}
    view.update(fields, False)
    await user.should_see("Meeting with John")
    assert slot_states(root) == {"title": "shown", "date": "waiting", "time": "waiting"}
    fields |= {"date": "2025-10-22", "time": "14:00", "status": "PROPOSED"}
    view.update(fields, True)
    await user.should_see("Wednesday, October 22, 2025")
    await user.should_see("2:00 PM CEST")  # the time says in which zone
    [chip] = user.find(kind=ui.chip, marker="field-status").elements
    assert chip.text == "Proposed" and chip.props["color"] == "orange-7"


async def test_calendar_event_in_another_locale(user: User) -> None:
    views: list[CalendarEventView] = []

    @ui.page("/")
    def page() -> None:
        views.append(CalendarEventView(locale="de_DE.UTF-8"))

    await user.open("/")
    views[0].update({"date": "2025-10-22", "time": "2:00 PM", "status": "confirmed"}, True)
    await user.should_see("Mittwoch, 22. Oktober 2025")
    await user.should_see("14:00")
    await user.should_see("Confirmed")


async def test_calendar_event_downloads_as_an_ics_file(
    user: User, english: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENT_CONSOLE_TZ", "Europe/Paris")
    view = await open_view(user, "calendar_event")
    button = user.find(kind=ui.button, marker="ics-download")
    [element] = button.elements
    assert not element.enabled  # nothing to put in a calendar yet
    view.update(
        {"title": "Meeting with John", "date": "2025-10-22", "time": "14:00", "status": "PROPOSED"}, True
    )
    assert element.enabled
    button.click()
    response = await user.download.next()
    text = response.content.decode()
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert "SUMMARY:Meeting with John\r\n" in text
    # 14:00 in Paris (CEST), written as the moment it is: every calendar shows it right.
    assert "DTSTART:20251022T120000Z\r\n" in text and "DTEND:20251022T130000Z\r\n" in text
    assert "STATUS:TENTATIVE\r\n" in text
    # An agent may name the zone itself.
    view.update(
        {"title": "Call", "date": "2025-10-22", "time": "14:00", "timezone": "America/New_York"}, True
    )
    await user.should_see("2:00 PM EDT")
    assert isinstance(view, CalendarEventView)
    ics = view.ics()
    assert ics is not None and "DTSTART:20251022T180000Z\r\n" in ics


async def test_an_invalid_date_is_shown_raw_and_blocks_the_download(user: User, english: None) -> None:
    view = await open_view(user, "calendar_event")
    view.update({"title": "Lunch", "date": "next Tuesday", "time": 1400, "status": 3}, True)
    await user.should_see("next Tuesday")
    await user.should_see("3 (invalid status)")
    await user.should_see("not a date (expected YYYY-MM-DD)")
    await user.should_see("not a time (expected HH:MM)")
    [element] = user.find(kind=ui.button, marker="ics-download").elements
    assert not element.enabled


def test_ics_text_from_upstream_cannot_add_properties() -> None:
    title = "Lunch\r\nATTENDEE:mailto:evil@example.com\nEND:VEVENT; with, commas\\ " + "é" * 60
    text = build_ics(
        title, dt.date(2025, 10, 22), None, "CONFIRMED", stamp=dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    )
    lines = text.split("\r\n")
    assert all(len(line.encode()) <= 75 for line in lines)
    assert not any(line.startswith(("ATTENDEE", "END:VEVENT;")) for line in lines)
    assert lines.count("END:VEVENT") == 1
    unfolded = text.replace("\r\n ", "")
    summary = next(line for line in unfolded.split("\r\n") if line.startswith("SUMMARY:"))
    expected = "Lunch\\nATTENDEE:mailto:evil@example.com\\nEND:VEVENT\\; with\\, commas\\\\ " + "é" * 60
    assert summary == "SUMMARY:" + expected
    assert "DTSTART;VALUE=DATE:20251022\r\n" in text and "DTEND;VALUE=DATE:20251023\r\n" in text


async def test_an_unknown_type_renders_the_generic_card(user: User) -> None:
    view = await open_view(user, "weather_card")
    view.update({"city": "Paris", "celsius": 21, "alerts": ["wind"]}, False)
    [root] = component_roots(user)
    assert root.props["data-type"] == "weather_card"
    await user.should_see("weather_card")
    for text in ("city", "Paris", "celsius", "21", '["wind"]'):
        await user.should_see(text)
    await user.should_see(kind=ui.skeleton)  # more fields may come
    view.update({"city": "Lyon", "celsius": 21, "alerts": ["wind"]}, True)
    await user.should_see("Lyon")
    await user.should_not_see("Paris")
    await user.should_not_see(kind=ui.skeleton)


async def test_an_upstream_type_name_is_an_attribute_value_never_parsed_as_props(user: User) -> None:
    name = "x onclick=alert(1) data-testid=evil"
    await open_view(user, name)
    [root] = component_roots(user)
    assert root.props["data-type"] == name
    assert "onclick" not in root.props
    await user.should_see(name)


@pytest.fixture
def plugin_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An installed third-party package declaring component types through the entry-point group."""
    (tmp_path / "acme_cards.py").write_text(
        "from nicegui import ui\n"
        "from components.registry import mark_root, register\n"
        "@register('acme_card')\n"
        "class AcmeCard:\n"
        "    def __init__(self) -> None:\n"
        "        self.root = mark_root(ui.card(), 'acme_card')\n"
        "        with self.root:\n"
        "            self.note = ui.label('')\n"
        "    def update(self, fields, complete):\n"
        "        self.note.set_text('Acme says: ' + str(fields.get('note', '')))\n"
    )
    info = tmp_path / "acme_cards-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-cards\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[agent_console.components]\nacme_card = acme_cards\nbroken = acme_cards_missing\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.load_plugins(again=True)
    yield
    registry.unregister("acme_card")
    sys.modules.pop("acme_cards", None)


async def test_a_package_adds_a_component_type_through_the_entry_point_group(
    user: User, plugin_package: None
) -> None:
    assert "acme_card" in registry.registered_types()
    assert {"contact_badge", "calendar_event"} <= set(registry.registered_types())
    assert any(error.startswith("broken") for error in registry.plugin_errors)  # reported, not fatal
    view = await open_view(user, "acme_card")
    view.update({"note": "hello"}, True)
    await user.should_see("Acme says: hello")


def test_a_type_name_cannot_be_taken_twice_by_accident() -> None:
    with pytest.raises(ValueError, match="already registered"):

        @registry.register("contact_badge")
        class Impostor:
            def update(self, fields: object, complete: bool) -> None: ...


def test_the_registry_tells_decoders_which_fields_each_type_has() -> None:
    fields = registry.known_fields()
    assert fields["contact_badge"] == {"name", "email", "company", "profilePicture"}
    assert fields["calendar_event"] == {"title", "date", "time", "status", "timezone"}


async def test_a_picture_from_a_host_not_allow_listed_leaves_the_initials(user: User) -> None:
    view = await open_view(user, "contact_badge")
    view.update({"name": "Ada Lovelace", "profilePicture": "https://tracker.example/pixel.png?who=1"}, True)
    assert images(user) == []  # no request from the viewer's browser to that host
    await user.should_see("AL")
    await user.should_see("picture not shown: its host is not on this console's image allow-list")


def test_the_console_loads_component_types_as_it_starts_and_says_which_plugin_failed(tmp_path: Path) -> None:
    # Loaded when the first card arrived, they cost one turn of the loop some 30 ms under whatever
    # flood brought that card; at startup the console says at once which plugin is broken.
    info = tmp_path / "broken_cards-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-cards\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[agent_console.components]\nbroken = broken_cards_missing\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), *filter(None, [env.get("PYTHONPATH")])])
    # No session ever gets a component: the upstream is dead.
    argv = [
        "--no-show",
        "--no-store",
        "--port",
        str(free_port()),
        "--upstream",
        f"agent=ws://127.0.0.1:{free_port()}/ws",
    ]
    process = subprocess.Popen(
        [sys.executable, "main.py", *argv], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True
    )
    watchdog = threading.Timer(30, process.kill)  # a console that never says it ends the read
    watchdog.start()
    try:
        assert process.stderr is not None
        told = ""
        for line in process.stderr:
            if "broken_cards_missing" in line or "cannot connect" in line:
                told = line
                break
        assert told.startswith("component plugin broken_cards_missing failed to load")
    finally:
        watchdog.cancel()
        process.terminate()
        process.wait(10)
