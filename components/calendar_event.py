"""`calendar_event`: a meeting's title, date, time and status (spec: title, date, time, status).

The date and time are shown in a locale's words and clock (`locale` of the view; by default the
process's, from AGENT_CONSOLE_LOCALE, LC_ALL, LC_TIME or LANG), the status as a coloured chip, and the
event can be downloaded as an .ics file. The .ics text is built from the validated values only, with
every text escaped and every line folded as RFC 5545 says, so an upstream title cannot add properties
or events of its own.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass

from nicegui import ui
from pydantic import BaseModel, ConfigDict, field_validator

from components.registry import (
    FieldSlot,
    display_text,
    mark_complete,
    mark_root,
    register,
    validate_partial,
)
from console.jsonvalue import JsonValue
from console.ui.testid import testid

TYPE = "calendar_event"

# -- locales -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Locale:
    days: tuple[str, ...]  # Monday first
    months: tuple[str, ...]
    date: str  # placeholders: {weekday} {day} {month} {year}
    clock12: bool


_EN_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_EN_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_LOCALES: dict[str, _Locale] = {
    "en-US": _Locale(_EN_DAYS, _EN_MONTHS, "{weekday}, {month} {day}, {year}", clock12=True),
    "en-GB": _Locale(_EN_DAYS, _EN_MONTHS, "{weekday} {day} {month} {year}", clock12=False),
    "fr": _Locale(
        ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
        ("janvier", "février", "mars", "avril", "mai", "juin",
         "juillet", "août", "septembre", "octobre", "novembre", "décembre"),
        "{weekday} {day} {month} {year}",
        clock12=False,
    ),
    "de": _Locale(
        ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
        ("Januar", "Februar", "März", "April", "Mai", "Juni",
         "Juli", "August", "September", "Oktober", "November", "Dezember"),
        "{weekday}, {day}. {month} {year}",
        clock12=False,
    ),
    "es": _Locale(
        ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
        ("enero", "febrero", "marzo", "abril", "mayo", "junio",
         "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"),
        "{weekday}, {day} de {month} de {year}",
        clock12=False,
    ),
}  # fmt: skip


def _resolve(locale: str) -> _Locale:
    """'fr_FR.UTF-8' -> fr; 'en_AU' -> en-GB (day before month, 24-hour clock); unknown -> en-US."""
    tag = locale.split(".", 1)[0].replace("_", "-")
    language, _, region = tag.partition("-")
    full = f"{language.lower()}-{region.upper()}" if region else language.lower()
    if full in _LOCALES:
        return _LOCALES[full]
    if language.lower() == "en" and region.upper() in {"GB", "IE", "AU", "NZ", "IN", "ZA"}:
        return _LOCALES["en-GB"]
    return _LOCALES.get(language.lower(), _LOCALES["en-US"])


def default_locale() -> str:
    for name in ("AGENT_CONSOLE_LOCALE", "LC_ALL", "LC_TIME", "LANG"):
        value = os.environ.get(name, "")
        if value and value not in ("C", "POSIX") and not value.startswith("C."):
            return value
    return "en-US"


def format_date(value: dt.date, locale: str = "en-US") -> str:
    loc = _resolve(locale)
    return loc.date.format(
        weekday=loc.days[value.weekday()], day=value.day, month=loc.months[value.month - 1], year=value.year
    )


def format_time(value: dt.time, locale: str = "en-US") -> str:
    if _resolve(locale).clock12:
        hour = value.hour % 12 or 12
        return f"{hour}:{value.minute:02d} {'AM' if value.hour < 12 else 'PM'}"
    return f"{value.hour:02d}:{value.minute:02d}"


# -- fields --------------------------------------------------------------------------------------

_TIME = re.compile(r"(\d{1,2})(?::|h)(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?")


def parse_time(text: str) -> dt.time:
    """'14:00', '14:00:30', '2:00 PM', '14h00'."""
    match = _TIME.fullmatch(text.strip())
    if match is None:
        raise ValueError("not a time (expected HH:MM)")
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    if match[4]:
        if not 1 <= hour <= 12:
            raise ValueError("not a time (expected HH:MM)")
        hour = hour % 12 + (12 if match[4].lower() == "pm" else 0)
    try:
        return dt.time(hour, minute, second)
    except ValueError:
        raise ValueError("not a time (expected HH:MM)") from None


class CalendarFields(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    title: str | None = None
    date: dt.date | None = None
    time: dt.time | None = None
    status: str | None = None
    timezone: str | None = None  # not in the spec: an agent may name one (IANA, e.g. Europe/Paris)

    # Dates and times arrive as text; a number is not read as a Unix timestamp, as pydantic would.
    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, value: JsonValue) -> dt.date | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError("not a date (expected YYYY-MM-DD)")
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError("not a date (expected YYYY-MM-DD)") from None

    @field_validator("time", mode="before")
    @classmethod
    def _time(cls, value: JsonValue) -> dt.time | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError("not a time (expected HH:MM)")
        return parse_time(value)

    @field_validator("timezone", mode="before")
    @classmethod
    def _zone(cls, value: JsonValue) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError("not a time zone (expected a name like Europe/Paris)")
        named_zone(value)
        return value.strip()

    @property
    def zone(self) -> dt.tzinfo | None:
        return named_zone(self.timezone) if self.timezone else None

    @field_validator("status")
    @classmethod
    def _status(cls, value: str | None) -> str | None:
        return value.strip().upper() if value is not None else None


_STATUS_COLOURS = {
    "PROPOSED": "orange-7",
    "TENTATIVE": "blue-6",
    "PENDING": "orange-7",
    "CONFIRMED": "green-7",
    "ACCEPTED": "green-7",
    "SCHEDULED": "green-7",
    "CANCELLED": "red-7",
    "CANCELED": "red-7",
    "DECLINED": "red-7",
}


def status_colour(status: str) -> str:
    return _STATUS_COLOURS.get(status.upper(), "grey-7")


# -- .ics ----------------------------------------------------------------------------------------

_ICS_STATUS = {
    "PROPOSED": "TENTATIVE",
    "TENTATIVE": "TENTATIVE",
    "PENDING": "TENTATIVE",
    "CONFIRMED": "CONFIRMED",
    "ACCEPTED": "CONFIRMED",
    "SCHEDULED": "CONFIRMED",
    "CANCELLED": "CANCELLED",
    "CANCELED": "CANCELLED",
    "DECLINED": "CANCELLED",
}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def ics_text(value: str) -> str:
    """RFC 5545 TEXT: backslash, semicolon, comma and newline escaped; other control characters
    (CR among them, which could start a property of its own) removed."""
    value = _CONTROL.sub("", value.replace("\r\n", "\n"))
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """Lines longer than 75 octets are folded, never inside a UTF-8 character."""
    pieces: list[str] = []
    current, size, limit = "", 0, 75
    for char in line:
        width = len(char.encode())
        if size + width > limit:
            pieces.append(current)
            current, size, limit = " ", 1, 75
        current += char
        size += width
    pieces.append(current)
    return "\r\n".join(pieces)


def named_zone(name: str) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(name.strip())
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone '{name[:40]}'") from None


def local_zone() -> dt.tzinfo:
    """The zone an event's time is read in when the agent names none: the console's (AGENT_CONSOLE_TZ,
    else TZ, else the system's). The spec's times carry no zone; the people it books are here."""
    for name in (os.environ.get("AGENT_CONSOLE_TZ"), os.environ.get("TZ")):
        if name:
            with contextlib.suppress(ValueError):
                return named_zone(name.lstrip(":"))
    return dt.datetime.now().astimezone().tzinfo or dt.UTC


def zone_name(date: dt.date, time: dt.time, zone: dt.tzinfo) -> str:
    """What a person reads after the time: the zone's abbreviation on that day (CET, EDT, UTC)."""
    return dt.datetime.combine(date, time, zone).tzname() or str(zone)


def build_ics(
    title: str,
    date: dt.date,
    time: dt.time | None,
    status: str | None,
    *,
    stamp: dt.datetime,
    duration: dt.timedelta = dt.timedelta(hours=1),
    zone: dt.tzinfo = dt.UTC,
) -> str:
    """One VEVENT. Without a time it is an all-day event; with one, its start in `zone`, written in
    UTC so every calendar shows it at the same moment. The UID derives from the event, so downloading
    twice updates, not duplicates."""
    uid = hashlib.sha256(f"{title}\n{date}\n{time}".encode()).hexdigest()[:32]
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Agent Console//Calendar event//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{uid}@agent-console",
        f"DTSTAMP:{stamp.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}",
    ]
    if time is None:
        lines.append(f"DTSTART;VALUE=DATE:{date:%Y%m%d}")
        lines.append(f"DTEND;VALUE=DATE:{date + dt.timedelta(days=1):%Y%m%d}")
    else:
        start = dt.datetime.combine(date, time, zone).astimezone(dt.UTC)
        lines.append(f"DTSTART:{start:%Y%m%dT%H%M%SZ}")
        lines.append(f"DTEND:{start + duration:%Y%m%dT%H%M%SZ}")
    lines.append(f"SUMMARY:{ics_text(title)}")
    if status is not None and status.upper() in _ICS_STATUS:
        lines.append(f"STATUS:{_ICS_STATUS[status.upper()]}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "".join(_fold(line) + "\r\n" for line in lines)


def ics_filename(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60].strip("-")
    return f"{slug or 'event'}.ics"


# -- view ----------------------------------------------------------------------------------------


@register(TYPE, model=CalendarFields)
class CalendarEventView:
    def __init__(self, locale: str | None = None) -> None:
        self.locale = locale or default_locale()
        self.zone = local_zone()
        self.values = CalendarFields()
        self.root = mark_root(ui.card().classes("ac-component gap-2"), TYPE)
        with self.root:
            with ui.row().classes("items-start justify-between no-wrap w-full gap-3"):
                with ui.row().classes("items-center no-wrap gap-2 min-w-0"):
                    ui.icon("event", size="1.4rem").classes("text-primary")
                    self.title = FieldSlot("title", width="10rem", classes="text-base font-semibold")
                with ui.element("div").classes("flex-none") as status_box:
                    self.status_placeholder = ui.skeleton("QChip", width="5rem")
                    self.status = ui.chip("", color="grey-7", text_color="white").classes("ac-appear m-0")
                    testid(self.status, "field-status")
                    self.status.set_visibility(False)
                status_box.props["data-field"] = "status"
            with ui.row().classes("items-center no-wrap gap-2"):
                ui.icon("calendar_today", size="1.1rem").classes("text-gray-500")
                self.date = FieldSlot("date", width="12rem")
            with ui.row().classes("items-center no-wrap gap-2"):
                ui.icon("schedule", size="1.1rem").classes("text-gray-500")
                self.time = FieldSlot("time", width="7rem")
            self.download = ui.button("Add to calendar (.ics)", icon="download", on_click=self._download)
            testid(self.download, "ics-download").props("flat dense no-caps")
            self.download.disable()

    def update(self, fields: Mapping[str, JsonValue], complete: bool) -> None:
        self.values, problems = validate_partial(CalendarFields, fields)
        values = self.values
        self.title.apply(fields, problems, complete, values.title)
        date_text = format_date(values.date, self.locale) if values.date else None
        self.date.apply(fields, problems, complete, date_text)
        time_text = None
        if values.time:
            zone = zone_name(values.date or dt.date.today(), values.time, values.zone or self.zone)
            time_text = f"{format_time(values.time, self.locale)} {zone}"
        self.time.apply(fields, problems, complete, time_text)
        self._status(values.status, fields.get("status"), complete)
        self.download.set_enabled(bool(values.title) and values.date is not None)
        mark_complete(self.root, complete)

    def _status(self, status: str | None, raw: JsonValue | None, complete: bool) -> None:
        if status is not None:
            self._chip(status.capitalize(), status_colour(status))
        elif raw is not None:
            self._chip(f"{display_text(raw, 40)} (invalid status)", "grey-5")
        elif complete:
            self._chip("no status", "grey-5")

    def _chip(self, text: str, colour: str) -> None:
        if self.status.text == text:
            return
        self.status_placeholder.set_visibility(False)
        self.status.set_text(text)
        self.status.props["color"] = colour
        self.status.set_visibility(True)

    def ics(self, stamp: dt.datetime | None = None) -> str | None:
        values = self.values
        if not values.title or values.date is None:
            return None
        when = stamp or dt.datetime.now(dt.UTC)
        zone = values.zone or self.zone
        return build_ics(values.title, values.date, values.time, values.status, stamp=when, zone=zone)

    def _download(self) -> None:
        content = self.ics()
        if content is not None and self.values.title:
            ui.download.content(content.encode(), ics_filename(self.values.title), "text/calendar")
