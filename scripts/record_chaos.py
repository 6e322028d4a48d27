"""Record the console surviving chaos mode: real Chromium on the in-process chaos simulator.

    python scripts/record_chaos.py [--out docs/chaos-recording.mp4] [--seed 7]

The on-screen labels are the console's own narration (`?narrate=1`): each is shown when the
console's trace shows the scenario happening, not on a schedule. The script keeps asking the agent
things until every scenario of the spec has been seen (and at least `--min` minutes have passed),
then writes an MP4 (ffmpeg) and prints what was seen when.
"""

from __future__ import annotations

import argparse
import base64
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import CDPSession, Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, start_console, stop_console  # noqa: E402

REQUIRED = {"drop", "resume", "reorder", "rapid_tools", "oversized", "corrupt_heartbeat"}
PROMPTS = [
    "summarize the q3 report",
    "analyze and compare the regions",
    "show the database schema",
    "write a long detailed document",
    "lookup churn definition",
    "hello",
]
WIDTH, HEIGHT = 1280, 720


class Screencast:
    """Frames of the page as Chromium paints them (DevTools screencast), with their times.

    (Playwright's own video recording needs a browser-specific ffmpeg download; the system ffmpeg
    turns these frames into the MP4 instead.)
    """

    def __init__(self, page: Page) -> None:
        self.frames: list[tuple[float, bytes]] = []
        self.cdp: CDPSession = page.context.new_cdp_session(page)
        self.cdp.on("Page.screencastFrame", self._on_frame)
        self.cdp.send(
            "Page.startScreencast", {"format": "jpeg", "quality": 75, "maxWidth": WIDTH, "maxHeight": HEIGHT}
        )

    def _on_frame(self, params: dict[str, object]) -> None:
        data, session, meta = params["data"], params["sessionId"], params["metadata"]
        assert isinstance(data, str) and isinstance(meta, dict)
        self.frames.append((float(meta["timestamp"]), base64.b64decode(data)))
        self.cdp.send("Page.screencastFrameAck", {"sessionId": session})

    def stop(self) -> None:
        self.cdp.send("Page.stopScreencast")

    def write_mp4(self, folder: Path, out: Path) -> None:
        """Each frame lasts until the next one: the video keeps the real timing."""
        lines: list[str] = []
        for n, (at, jpeg) in enumerate(self.frames):
            path = folder / f"frame{n:06d}.jpg"
            path.write_bytes(jpeg)
            until = self.frames[n + 1][0] if n + 1 < len(self.frames) else at + 1.0
            lines += [f"file '{path}'", f"duration {max(until - at, 0.01):.3f}"]
        lines.append(f"file '{folder / f'frame{len(self.frames) - 1:06d}.jpg'}'")
        playlist = folder / "frames.txt"
        playlist.write_text("\n".join(lines) + "\n")
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "ffmpeg",
                "-y",
                "-loglevel",
                "error",
                "-f",
                "concat",
                "-safe",
                "0",
                "-i",
                str(playlist),
                "-vf",
                f"fps=15,scale={WIDTH}:{HEIGHT}:force_original_aspect_ratio=decrease,pad={WIDTH}:{HEIGHT}:(ow-iw)/2:(oh-ih)/2",
                "-c:v",
                "libx264",
                "-preset",
                "slow",
                "-crf",
                "30",
                "-pix_fmt",
                "yuv420p",
                "-movflags",
                "+faststart",
                str(out),
            ],
            check=True,
        )


def wait_reply(page: Page, count: int, seen: dict[str, float], t0: float, limit: float) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        kinds = page.get_attribute("[data-testid=scenario-label]", "data-seen") or ""
        for kind in filter(None, kinds.split(",")):
            if kind not in seen:
                seen[kind] = time.monotonic() - t0
                print(f"  {seen[kind]:6.1f} s  {kind}", flush=True)
        done = page.evaluate(
            """(n) => { const m = [...document.querySelectorAll('[data-testid=message][data-role=assistant]')];
                return m.length >= n && !['streaming'].includes(m[m.length - 1].dataset.status); }""",
            count,
        )
        if done:
            return
        page.wait_for_timeout(200)


def record(out: Path, seed: int, minimum: float, maximum: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        console = start_console(Path(tmp), "--demo", "chaos", "--seed", str(seed))
        seen: dict[str, float] = {}
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
                page.goto(f"{console.url}/session/agent?narrate=1")
                page.wait_for_selector("[data-testid=connection-status][data-state=open]")
                cast = Screencast(page)
                t0 = time.monotonic()
                replies = 0
                while time.monotonic() - t0 < maximum:
                    elapsed = time.monotonic() - t0
                    if elapsed > minimum and set(seen) >= REQUIRED:
                        break
                    prompt = PROMPTS[replies % len(PROMPTS)]
                    if prompt == "show the database schema":
                        page.click("[data-testid=context-tab]")
                    elif replies % len(PROMPTS) == 0:
                        page.click("[data-testid=timeline-tab]")
                    page.fill("[data-testid=chat-input]", prompt)
                    page.keyboard.press("Enter")
                    replies += 1
                    wait_reply(page, replies, seen, t0, limit=90)
                    page.wait_for_timeout(1500)  # (lets the screencast frames in meanwhile)
                cast.stop()
                browser.close()
        finally:
            stop_console(console)
        cast.write_mp4(Path(tmp), out)
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "chaos-recording.mp4")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--min", type=float, default=3.0, help="minutes at least")
    parser.add_argument("--max", type=float, default=5.0, help="minutes at most")
    args = parser.parse_args()
    if shutil.which("ffmpeg") is None:
        sys.exit("ffmpeg is needed to write the MP4 (Debian: apt-get install ffmpeg)")
    print("recording; scenarios as the console names them:", flush=True)
    seen = record(args.out, args.seed, args.min * 60, args.max * 60)
    missing = REQUIRED - set(seen)
    size = args.out.stat().st_size / 1e6
    print(f"wrote {args.out} ({size:.1f} MB); missing scenarios: {sorted(missing) or 'none'}")
    if missing:
        sys.exit(1)


if __name__ == "__main__":
    main()
