"""Check that `python main.py --native` opens the console in a desktop window.

    python scripts/native_check.py [--out docs/screenshots/native-window.png] [--timeout 90]

Starts a virtual X display (Xvfb), runs the console with `--native` on a free port, waits until it
answers HTTP and its window "Agent Console" shows the console (its dark header bar, a rendered page),
saves a screenshot of the whole screen as PNG, then stops the console and the display. Prints what it
measured; on any failure it prints the console's last output (if it got that far) and exits 1 with a
one-line reason.

Needs the X tools `Xvfb`, `xwd` and `xwininfo` (Debian: xvfb x11-apps x11-utils) and a pywebview
backend (see the README's "Running it" section).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCREEN = (1400, 900)
TITLE = "Agent Console"
HEADER_RGB = (0x0F, 0x17, 0x2A)  # the console's header bar, Tailwind's slate-900 (console/ui/page.py)
HEADER_SHARE = 0.6  # of the header row's pixels that must be that colour
MIN_WINDOW_COLOURS = 32  # a blank page has one; the console, with text and charts, has hundreds
SETTLE_SECONDS = 3.0  # after the header shows, for the session cards to fill in
TOOLS = {"Xvfb": "xvfb", "xwd": "x11-apps", "xwininfo": "x11-utils"}


class CheckFailed(Exception):
    """The one-line reason the check failed."""


@dataclass(frozen=True, slots=True)
class Window:
    id: str
    width: int
    height: int
    x: int
    y: int


@dataclass(frozen=True, slots=True)
class Screenshot:
    width: int
    height: int
    rows: list[bytes]  # RGB, 3 bytes a pixel

    def colours(self, left: int = 0, top: int = 0, width: int = -1, height: int = -1) -> int:
        """Distinct colours in a rectangle (the whole screen by default)."""
        box = self._clip(left, top, width, height)
        seen: set[bytes] = set()
        for row in self.rows[box[1] : box[3]]:
            seen.update(row[i : i + 3] for i in range(box[0] * 3, box[2] * 3, 3))
        return len(seen)

    def share(self, rgb: tuple[int, int, int], y: int, left: int, width: int, tolerance: int = 3) -> float:
        """Which part of row `y`, from `left` for `width` pixels, has colour `rgb` (give or take)."""
        x0, _, x1, _ = self._clip(left, y, width, 1)
        if not 0 <= y < self.height or x1 <= x0:
            return 0.0
        row = self.rows[y]
        near = sum(
            1
            for i in range(x0 * 3, x1 * 3, 3)
            if all(abs(row[i + c] - rgb[c]) <= tolerance for c in range(3))
        )
        return near / (x1 - x0)

    def png(self) -> bytes:
        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)  # 8-bit RGB
        pixels = zlib.compress(b"".join(b"\0" + row for row in self.rows), 9)
        return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")

    def _clip(self, left: int, top: int, width: int, height: int) -> tuple[int, int, int, int]:
        right = self.width if width < 0 else min(self.width, left + width)
        bottom = self.height if height < 0 else min(self.height, top + height)
        return max(0, left), max(0, top), right, bottom


def parse_xwd(data: bytes) -> Screenshot:
    """An `xwd` dump of a true-colour screen (24 or 32 bits a pixel, 8 bits a channel) as RGB rows."""
    if len(data) < 100:
        raise CheckFailed(f"xwd wrote {len(data)} bytes, too few for its header")
    fields = struct.unpack(">25I", data[:100])  # the header is always big-endian
    header_size, _, pixmap_format, _, width, height = fields[:6]
    byte_order, bits_per_pixel, bytes_per_line = fields[7], fields[11], fields[12]
    masks, ncolors = fields[14:17], fields[19]
    size = bits_per_pixel // 8
    channels = [(mask.bit_length() - 8) // 8 for mask in masks]
    if (
        pixmap_format != 2
        or size not in (3, 4)
        or any(mask != 0xFF << 8 * c for mask, c in zip(masks, channels, strict=True))
    ):
        raise CheckFailed(
            f"unexpected xwd image: format {pixmap_format}, {bits_per_pixel} bpp, masks {masks}"
        )
    offsets = [c if byte_order == 0 else size - 1 - c for c in channels]  # 0: least significant byte first
    start = header_size + 12 * ncolors  # after the window name and the colour map
    if len(data) < start + height * bytes_per_line:
        raise CheckFailed(f"xwd image cut short: {len(data)} bytes for {width}x{height}")
    rows: list[bytes] = []
    for y in range(height):
        line = data[start + y * bytes_per_line : start + y * bytes_per_line + width * size]
        rgb = bytearray(width * 3)
        for c, offset in enumerate(offsets):
            rgb[c::3] = line[offset::size]
        rows.append(bytes(rgb))
    return Screenshot(width, height, rows)


class Display:
    """A virtual X screen of its own; Xvfb picks a free display number (-displayfd)."""

    def __init__(self, width: int, height: int) -> None:
        read_end, write_end = os.pipe()
        # -noreset: by default the server resets when its last client leaves, and a window that
        # connects during that reset fails ("could not connect to display")
        command = ["Xvfb", "-displayfd", str(write_end), "-screen", "0", f"{width}x{height}x24"]
        try:
            self.process = subprocess.Popen(
                [*command, "-nolisten", "tcp", "-noreset"],
                pass_fds=(write_end,),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        finally:
            os.close(write_end)
        try:
            number = read_line(read_end, 15.0)
        finally:
            os.close(read_end)  # only after the newline: Xvfb stops if it cannot write that
        if not number.isdigit():
            self.stop()
            raise CheckFailed(f"Xvfb did not start (exit code {self.process.returncode})")
        self.name = f":{number}"

    def run(self, *command: str) -> subprocess.CompletedProcess[bytes]:
        try:
            return subprocess.run(
                [*command, "-display", self.name], capture_output=True, timeout=30, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise CheckFailed(f"{command[0]} did not finish within 30 s") from exc

    def window(self, title: str) -> Window | None:
        """The top-level window of that title, once it is on the screen."""
        tree = self.run("xwininfo", "-root", "-tree").stdout.decode(errors="replace")
        pattern = rf'^\s*(0x[0-9a-f]+) "{re.escape(title)}":.*?(\d+)x(\d+)\+-?\d+\+-?\d+\s+\+(-?\d+)\+(-?\d+)'
        found = re.search(pattern, tree, re.MULTILINE)
        if found is None:
            return None
        info = self.run("xwininfo", "-id", found[1]).stdout.decode(errors="replace")
        if "Map State: IsViewable" not in info:
            return None
        return Window(found[1], int(found[2]), int(found[3]), int(found[4]), int(found[5]))

    def screenshot(self) -> Screenshot:
        dump = self.run("xwd", "-root", "-silent")
        if dump.returncode != 0:
            raise CheckFailed(f"xwd failed: {dump.stderr.decode(errors='replace').strip()}")
        return parse_xwd(dump.stdout)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Console:
    """`python main.py --native` in a process group of its own (its window runs in a child process)."""

    def __init__(self, display: str, port: int, log: Path) -> None:
        env = {**os.environ, "DISPLAY": display, "PYTHONUNBUFFERED": "1"}
        env.pop("WAYLAND_DISPLAY", None)
        if os.geteuid() == 0:
            env.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")  # Chromium refuses root with its sandbox
        self.log = log
        self.started = time.monotonic()
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "main.py", "--native", "--port", str(port)],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def lines(self) -> list[str]:
        return [line.rstrip() for line in self.log.read_text(errors="replace").splitlines() if line.strip()]

    def last_words(self) -> str:
        lines = self.lines()
        return lines[-1].strip() if lines else "it printed nothing"

    def tail(self, count: int = 20) -> str:
        return "\n".join(f"  | {line}" for line in self.lines()[-count:])

    def stop(self) -> int:
        """SIGTERM to the whole group (console, window, web engine), SIGKILL if it lingers."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # whatever of the group is left
        return self.process.wait()


def read_line(fd: int, timeout: float) -> str:
    """One line from a pipe, as written (in pieces) by another process; "" if none came in time."""
    deadline = time.monotonic() + timeout
    data = b""
    while not data.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        piece = os.read(fd, 64) if ready else b""
        if not piece:
            return ""
        data += piece
    return data.decode().strip()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def answers(port: int) -> bool:
    """Whether the console serves its start page."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/")
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def console_shown(shot: Screenshot, window: Window) -> tuple[float, int]:
    """The header colour's share of the window's sixth row, and the window's distinct colours."""
    header = shot.share(HEADER_RGB, window.y + 6, window.x, window.width)
    return header, shot.colours(window.x, window.y, window.width, window.height)


def check(out: Path, timeout: float) -> None:
    missing = [f"{tool} (Debian: {package})" for tool, package in TOOLS.items() if shutil.which(tool) is None]
    if missing:
        raise CheckFailed(f"missing X tools: {', '.join(missing)}")
    display = Display(*SCREEN)
    try:
        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        print(f"display {display.name}: Xvfb {SCREEN[0]}x{SCREEN[1]}x24; console: main.py --native on {url}")
        with tempfile.TemporaryDirectory() as tmp:
            console = Console(display.name, port, Path(tmp) / "console.log")
            try:
                shot, window = watch(display, console, port, timeout)
            except CheckFailed:
                print(f"the console's last output:\n{console.tail()}", file=sys.stderr)
                raise
            finally:
                code = console.stop()
    finally:
        display.stop()
    print(f"stopped the console (exit code {code}) and Xvfb")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(shot.png())
    in_window = shot.colours(window.x, window.y, window.width, window.height)
    shown = os.path.relpath(out) if out.is_absolute() and out.is_relative_to(Path.cwd()) else out
    print(
        f"screenshot {shown}: {shot.width}x{shot.height} px, {out.stat().st_size / 1024:.0f} KiB, "
        f"{shot.colours()} colours on the screen, {in_window} in the window"
    )


def watch(display: Display, console: Console, port: int, timeout: float) -> tuple[Screenshot, Window]:
    """Poll until the window shows the console; then let it settle and take the screenshot."""
    http_at: float | None = None
    window_at: float | None = None
    while console.elapsed() < timeout:
        if console.process.poll() is not None:
            raise CheckFailed(
                f"the console exited (code {console.process.returncode}) after {console.elapsed():.1f} s, "
                f"before its window showed: {console.last_words()}"
            )
        if http_at is None and answers(port):
            http_at = console.elapsed()
            print(f"console answered HTTP after {http_at:.1f} s")
        window = display.window(TITLE)
        if window is not None and window_at is None:
            window_at = console.elapsed()
            print(
                f'window "{TITLE}" ({window.id}) on the screen after {window_at:.1f} s: '
                f"{window.width}x{window.height} at +{window.x}+{window.y}"
            )
        if window is not None and http_at is not None:
            header, colours = console_shown(display.screenshot(), window)
            if header >= HEADER_SHARE and colours >= MIN_WINDOW_COLOURS:
                print(
                    f"console rendered in the window after {console.elapsed():.1f} s: header bar "
                    f"#{bytes(HEADER_RGB).hex()} across {header:.0%} of its top, {colours} colours in the window"
                )
                return settled(display, console, window)
        time.sleep(0.5)
    if http_at is None:
        raise CheckFailed(f"the console did not answer on port {port} within {timeout:.0f} s")
    if window_at is None:
        raise CheckFailed(f'no window "{TITLE}" appeared within {timeout:.0f} s: {console.last_words()}')
    raise CheckFailed(f"the window showed no console within {timeout:.0f} s (blank or another page)")


def settled(display: Display, console: Console, window: Window) -> tuple[Screenshot, Window]:
    time.sleep(SETTLE_SECONDS)
    if console.process.poll() is not None:
        raise CheckFailed(f"the console exited (code {console.process.returncode}): {console.last_words()}")
    now = display.window(TITLE) or window
    shot = display.screenshot()
    header, colours = console_shown(shot, now)
    if header < HEADER_SHARE or colours < MIN_WINDOW_COLOURS:
        raise CheckFailed(f"the console left the window: header {header:.0%}, {colours} colours")
    return shot, now


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots" / "native-window.png")
    parser.add_argument(
        "--timeout", type=float, default=90.0, help="seconds for the window to show the console"
    )
    args = parser.parse_args()
    started = time.monotonic()
    try:
        check(args.out, args.timeout)
    except CheckFailed as exc:
        print(f"native window check failed: {exc}", file=sys.stderr)
        return 1
    print(f"native window check passed in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
