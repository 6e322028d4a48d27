"""The page side of `streams.py` and `overview_trace.py`: what headless Chromium's main thread did
(CDP's TaskDuration, the Long Tasks API, frame gaps) and the bytes its WebSocket received.

Chromium runs at a lower CPU priority (nice 10): an operator's browser runs on the operator's machine.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import CDPSession, Page

CHROMIUM = "/usr/bin/chromium"

PERF_PROBE = """
window.__perf = { longtasks: [], gaps: [] };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__perf.longtasks.push([e.startTime, e.duration]);
}).observe({ type: "longtask", buffered: true });
let last = performance.now();
const frame = (t) => { window.__perf.gaps.push([t, t - last]); last = t; requestAnimationFrame(frame); };
requestAnimationFrame(frame);
"""


class BrowserProbe:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.cdp: CDPSession = page.context.new_cdp_session(page)
        self.cdp.send("Network.enable")
        self.cdp.send("Performance.enable")
        self.ws_bytes = 0
        self.cdp.on("Network.webSocketFrameReceived", self._frame)

    def _frame(self, params: dict[str, dict[str, str]]) -> None:
        self.ws_bytes += len(params["response"]["payloadData"])

    def task_seconds(self) -> float:
        result = self.cdp.send("Performance.getMetrics")
        return next(float(m["value"]) for m in result["metrics"] if m["name"] == "TaskDuration")

    def now(self) -> float:
        return float(self.page.evaluate("performance.now()"))

    def worst(self, since: float) -> tuple[float, int, float]:
        """Longest task (ms), long tasks, longest frame gap (ms) since `since` (page time)."""
        longtasks: list[list[float]] = self.page.evaluate("window.__perf.longtasks")
        gaps: list[list[float]] = self.page.evaluate("window.__perf.gaps")
        tasks = [d for start, d in longtasks if start >= since]
        frame_gaps = [g for t, g in gaps if t >= since]
        return max(tasks, default=0.0), len(tasks), max(frame_gaps, default=0.0)


def niced_chromium(folder: Path) -> str:
    wrapper = folder / "chromium-nice"
    wrapper.write_text(f'#!/bin/sh\nexec nice -n 10 {CHROMIUM} "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)
