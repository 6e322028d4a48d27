"""Which pictures named by upstreams a viewer's browser may load.

A picture URL from upstream (a contact badge's `profilePicture`) is fetched by every viewer's browser:
from an arbitrary host it tells that host who watches and when, and it can point viewers' browsers at
addresses inside their own network. So only `data:image` URLs (no request at all) and hosts the
operator allow-listed with `--allow-image-host` are loaded; any other picture leaves the initials. The
page's CSP `img-src` names the same hosts, so the browser enforces it too.
"""

from __future__ import annotations

import fnmatch
from urllib.parse import urlsplit

from console.security.policy import current


def image_allowed(url: str) -> bool:
    if url[:11].lower() == "data:image/":
        return True
    host = (urlsplit(url).hostname or "").lower()
    return bool(host) and any(fnmatch.fnmatchcase(host, pattern) for pattern in current().image_hosts)
