"""Benchmark: what the security layer costs, and what the upload cap saves.

Run: python tests/bench/security.py [--upload-mb 58] [--requests 200]

Figures:
  upload      a trace upload of --upload-mb (the size that once took the console from ~60 MB to 410 MB
              of RSS): the answer, how long it took, and the console's RSS before and after
  requests    median and p95 latency of a session page, of /metrics and of a Socket.IO polling
              handshake through the middleware (Host, Origin, visitor cookie, nonce, headers)
  nonce       writing the nonce into a page of 50 KB (a usual page) and of 2 MB (a long session)
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx

from console.security.headers import add_nonce, new_nonce
from tests.e2e.conftest import start_console, stop_console


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def upload(port: int, size: int) -> tuple[str, float]:
    """Send the headers and then the body of a `size` upload until the console answers."""
    started = time.perf_counter()
    head = (
        f"POST /_nicegui/client/x/upload/1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {size}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(head.encode())
        conn.settimeout(0.05)
        chunk, sent, answer = b"x" * 65536, 0, b""
        while sent < size and not answer:
            try:
                answer = conn.recv(4096)
            except TimeoutError:
                try:
                    conn.sendall(chunk)
                    sent += len(chunk)
                except OSError:
                    break
        conn.settimeout(10)
        while b"\r\n" not in answer:
            answer += conn.recv(4096)
    return answer.split(b"\r\n", 1)[0].decode(), time.perf_counter() - started


def latencies(url: str, n: int, **headers: str) -> tuple[float, float]:
    times: list[float] = []
    with httpx.Client(timeout=10, headers=headers) as http:
        for _ in range(n):
            started = time.perf_counter()
            http.get(url).raise_for_status()
            http.cookies.clear()  # each page from a browser of its own: the open-page cap is per browser
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--upload-mb", type=float, default=58.0)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with_tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    console = start_console(with_tmp, "--seed", "1")
    try:
        port = int(console.url.rsplit(":", 1)[1])
        time.sleep(2)
        before = rss_mb(console.process.pid)
        status, took = upload(port, int(args.upload_mb * 1024 * 1024))
        time.sleep(1)
        after = rss_mb(console.process.pid)
        print(
            f"upload    {args.upload_mb:.0f} MB: {status} after {took * 1000:.0f} ms; RSS {before:.0f} -> {after:.0f} MB"
        )
        for name, path, headers in [
            ("page", "/session/agent", {"Accept": "text/html"}),
            ("metrics", "/metrics", {}),
            ("socket.io", "/_nicegui_ws/socket.io/?EIO=4&transport=polling", {"Origin": console.url}),
        ]:
            median, p95 = latencies(f"{console.url}{path}", args.requests, **headers)
            print(f"requests  {name:<10} median {median:.1f} ms, p95 {p95:.1f} ms")
    finally:
        stop_console(console)
    for size in (50 * 1024, 2 * 1024 * 1024):
        page = (b"<script>x()</script>" + b"a" * 1000) * (size // 1020)
        started = time.perf_counter()
        for _ in range(20):
            add_nonce(page, new_nonce())
        print(f"nonce     {size / 1024:.0f} KB page: {(time.perf_counter() - started) / 20 * 1000:.2f} ms")


if __name__ == "__main__":
    main()
