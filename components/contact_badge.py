"""`contact_badge`: a person's name, email, company and picture (spec: name, email, company,
profilePicture).

The avatar shows initials until a picture has loaded, and keeps them when the picture is missing or
fails to load. Only data:image URLs and http(s) URLs of allow-listed hosts (see
`console/security/images.py`) are ever given to the browser: a `javascript:` or other
URL from upstream is refused by the model and never reaches an `src`. The email becomes a mailto link
only when it looks like an address.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

from nicegui import ui
from pydantic import BaseModel, ConfigDict, Field, field_validator

from components.registry import FieldSlot, mark_complete, mark_root, register, validate_partial
from console.jsonvalue import JsonValue
from console.security.images import image_allowed
from console.ui.testid import testid

TYPE = "contact_badge"
MAX_PICTURE_URL = 512 * 1024  # a data: URL of a photo, not of a movie
_EMAIL = re.compile(r"[^@\s<>()\[\]\\,;:\"']+@[^@\s<>()\[\]\\,;:\"']+\.[^@\s<>()\[\]\\,;:\"']+")


def safe_image_url(value: str) -> str | None:
    """The URL if the browser may load it as an image: http(s) with a host, or a data:image URL."""
    url = value.strip()
    if not url or len(url) > MAX_PICTURE_URL or any(ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        return None
    if url[:11].lower() == "data:image/":
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.hostname else None


def initials(name: str | None, email: str | None = None) -> str:
    """'John Carter' -> 'JC'; 'cher' -> 'C'; from the email's local part when there is no name."""
    source = name or (email.split("@", 1)[0].replace(".", " ") if email else "")
    words = [w for w in re.split(r"[\s_\-]+", source) if w and w[0].isalnum()]
    if not words:
        return ""
    letters = words[0][0] + (words[-1][0] if len(words) > 1 else "")
    return letters.upper()


class ContactFields(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    name: str | None = None
    email: str | None = None
    company: str | None = None
    profile_picture: str | None = Field(default=None, alias="profilePicture")

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.fullmatch(value.strip()):
            raise ValueError("not an email address")
        return value.strip() if value is not None else None

    @field_validator("profile_picture")
    @classmethod
    def _picture(cls, value: str | None) -> str | None:
        if value is None:
            return None
        url = safe_image_url(value)
        if url is None:
            raise ValueError("picture not shown: only http(s) and data:image URLs are loaded")
        if not image_allowed(url):
            raise ValueError("picture not shown: its host is not on this console's image allow-list")
        return url


@register(TYPE, model=ContactFields)
class ContactBadgeView:
    def __init__(self) -> None:
        self.root = mark_root(ui.card().classes("ac-component"), TYPE)
        with self.root, ui.row().classes("items-center gap-4 no-wrap w-full"):
            with ui.element("div").classes("ac-avatar") as self.avatar:
                self.initials = testid(ui.label(""), "avatar-initials")
                self.person = ui.icon("person", size="1.8rem")
            with ui.column().classes("gap-0 min-w-0 grow"):
                self.name = FieldSlot("name", width="9rem", classes="text-base font-semibold")
                self.company = FieldSlot("company", width="7rem", classes="text-sm text-gray-600")
                self.email = FieldSlot("email", width="11rem", classes="text-sm", link=True)
        self.avatar.props["data-picture"] = "none"
        self.image: ui.element | None = None
        self.picture: str | None = None
        self.failed: set[str] = set()
        self.picture_tip: ui.tooltip | None = None

    def update(self, fields: Mapping[str, JsonValue], complete: bool) -> None:
        values, problems = validate_partial(ContactFields, fields)
        self.name.apply(fields, problems, complete, values.name)
        self.company.apply(fields, problems, complete, values.company)
        href = f"mailto:{quote(values.email, safe='@')}" if values.email else None
        self.email.apply(fields, problems, complete, values.email, href=href)
        self._initials(values)
        self._picture(values.profile_picture, problems.get("profilePicture"))
        mark_complete(self.root, complete)

    def _initials(self, values: ContactFields) -> None:
        text = initials(values.name, values.email)
        if text != self.initials.text:
            self.initials.set_text(text)
            self.person.set_visibility(not text)

    def _picture(self, url: str | None, problem: str | None) -> None:
        self._tooltip(problem)
        if problem is not None:
            self._drop_image("blocked")
            return
        if url is None or url == self.picture or url in self.failed:
            return
        self.picture = url
        if self.image is None:
            with self.avatar:
                self.image = testid(ui.element("img"), "avatar-image")
            self.image.props["alt"] = ""
            self.image.props["referrerpolicy"] = "no-referrer"
            self.image.on("load", self._loaded)
            self.image.on("error", self._failed)
        self.image.classes(remove="ac-in")
        self.image.props["src"] = url
        self.avatar.props["data-picture"] = "loading"

    def _loaded(self) -> None:
        if self.image is not None:
            self.image.classes(add="ac-in")
            self.avatar.props["data-picture"] = "shown"

    def _failed(self) -> None:
        if self.picture is not None:
            self.failed.add(self.picture)
        self._drop_image("fallback")

    def _drop_image(self, state: str) -> None:
        if self.image is not None:
            self.image.delete()
            self.image = None
        self.picture = None
        if self.avatar.props.get("data-picture") != state:
            self.avatar.props["data-picture"] = state

    def _tooltip(self, problem: str | None) -> None:
        if problem is None:
            if self.picture_tip is not None:
                self.picture_tip.delete()
                self.picture_tip = None
            return
        if self.picture_tip is None:
            with self.avatar:
                self.picture_tip = ui.tooltip(problem)
        else:
            self.picture_tip.set_text(problem)
