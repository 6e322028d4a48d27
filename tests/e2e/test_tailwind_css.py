"""The prebuilt Tailwind stylesheet holds every utility the UI sources use (see scripts/build_tailwind.py)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def classes(css: str) -> set[str]:
    """The class selectors a stylesheet defines (its values may differ between compiler releases)."""
    return set(re.findall(r"^\s*(\.[^\s{,]+)", css, re.MULTILINE))


def test_the_prebuilt_tailwind_css_has_every_utility_the_sources_use() -> None:
    spec = importlib.util.spec_from_file_location("build_tailwind", ROOT / "scripts" / "build_tailwind.py")
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    built = classes(build.build_css())
    assert {".min-h-0", ".max-sm\\:hidden", ".items-center"} <= built  # utilities the pages use
    missing = built - classes((ROOT / "console" / "ui" / "tailwind.css").read_text())
    assert not missing, (
        f"console/ui/tailwind.css lacks {sorted(missing)}: run python scripts/build_tailwind.py"
    )
