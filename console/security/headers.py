"""Security headers, and the per-response nonce that lets NiceGUI's own inline scripts run under CSP.

NiceGUI's page template has inline scripts (the import map, the app's start-up module, the styles
added by `ui.add_css`), and what they hold differs per page, so hashes cannot name them: each page
response gets a fresh nonce, written into every `<script` tag of the page. That is safe because
nothing from upstream can form a `<script` tag in the page source: NiceGUI writes the elements' JSON
with `<` escaped as `&lt;` and `ui.add_css` content with `<` as `\\u003c`, and upstream text never goes
into head HTML. Scripts that an attacker could inject later (through `innerHTML`, an `on…` attribute or
a `javascript:` URL) carry no nonce and do not run.

`'unsafe-eval'` stays: Vue compiles the elements' templates in the browser, and NiceGUI's
`run_javascript` evaluates code sent by the server. Styles are allowed inline because Quasar and Vue
set `style` attributes everywhere; a style cannot run script.
"""

from __future__ import annotations

import re
import secrets
from typing import Final

_SCRIPT_TAG: Final = re.compile(rb"<script(?=[\s>])", re.IGNORECASE)

BASE_HEADERS: Final[tuple[tuple[bytes, bytes], ...]] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on form posts.
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    # Other sites cannot embed the console's responses (scripts, images, JSON) either.
    (b"cross-origin-resource-policy", b"same-origin"),
)

# Responses that are not pages load nothing at all.
PLAIN_CSP: Final = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

# The console's own script-free pages (login, limits): styles only.
STATIC_PAGE_CSP: Final = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"


def page_csp(nonce: str, image_hosts: tuple[str, ...] = ()) -> str:
    images = " ".join(f"https://{h} http://{h}" for h in image_hosts)
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}' 'unsafe-eval'",
            "style-src 'self' 'unsafe-inline'",
            f"img-src 'self' data: blob: {images}".strip(),
            "font-src 'self' data:",
            "connect-src 'self'",
            "media-src 'self' blob: data:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def add_nonce(html: bytes, nonce: str) -> bytes:
    """Every `<script` tag of the page source gets the nonce attribute."""
    return _SCRIPT_TAG.sub(b'<script nonce="' + nonce.encode() + b'"', html)
