"""The prebuilt Tailwind stylesheet holds every utility the UI sources use (see scripts/build_tailwind.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_prebuilt_tailwind_css_is_what_the_sources_need() -> None:
    spec = importlib.util.spec_from_file_location("build_tailwind", ROOT / "scripts" / "build_tailwind.py")
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    built: str = build.build_css()
    assert ".min-h-0" in built and ".max-sm\\:hidden" in built  # utilities the pages use, compiled
    assert (ROOT / "console" / "ui" / "tailwind.css").read_text() == built, (
        "console/ui/tailwind.css is stale: run python scripts/build_tailwind.py"
    )
