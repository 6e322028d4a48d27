"""The dashboard's security flags, and the startup decision they make."""

from __future__ import annotations

import argparse
import os
import sys

from console.security.origins import OriginRules
from console.security.policy import GENERATE, TOKEN_ENV, Limits, SecurityPolicy, decide_auth


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("security (see SECURITY.md)")
    group.add_argument(
        "--token",
        nargs="?",
        const=GENERATE,
        default=os.environ.get(TOKEN_ENV) or None,
        help=f"the login token or password (default: ${TOKEN_ENV}); alone: generate one and print it once",
    )
    group.add_argument(
        "--insecure-no-auth", action="store_true", help="listen beyond loopback with no login (dangerous)"
    )
    group.add_argument("--metrics-public", action="store_true", help="serve /metrics without the token")
    group.add_argument(
        "--public-url", action="append", default=[], metavar="URL", help="where a proxy publishes the console"
    )
    group.add_argument(
        "--allow-origin", action="append", default=[], metavar="ORIGIN", help="another origin to accept"
    )
    group.add_argument(
        "--allow-upstream",
        action="append",
        default=[],
        metavar="PATTERN",
        help="host, host:port, *.domain or CIDR that visitors may add sessions against",
    )
    group.add_argument(
        "--allow-image-host",
        action="append",
        default=[],
        metavar="HOST",
        help="a host whose profile pictures viewers' browsers may load",
    )
    limits = Limits()
    group.add_argument(
        "--max-sessions", type=int, default=limits.max_sessions, help="sessions open at once, all visitors"
    )
    group.add_argument(
        "--max-tabs", type=int, default=limits.max_tabs_per_visitor, help="open pages per browser"
    )
    group.add_argument(
        "--max-trace-mb", type=float, default=limits.max_trace_bytes / 1024 / 1024, help="uploaded trace size"
    )


def policy_from_args(args: argparse.Namespace) -> SecurityPolicy | None:
    """The policy, or None after saying why the console must not start."""
    decision = decide_auth(args.host, args.port, args.token, args.insecure_no_auth)
    if decision.refusal is not None:
        print(f"agent console: {decision.refusal}", file=sys.stderr)
        return None
    if decision.announce is not None:
        print(decision.announce, file=sys.stderr, flush=True)
    policy = SecurityPolicy(
        host=args.host,
        port=args.port,
        public_urls=tuple(args.public_url),
        allow_origins=tuple(args.allow_origin),
        token=decision.token,
        metrics_public=args.metrics_public,
        allow_upstreams=tuple(args.allow_upstream),
        image_hosts=tuple(h.strip().lower() for h in args.allow_image_host),
        limits=Limits(
            max_sessions=args.max_sessions,
            max_tabs_per_visitor=args.max_tabs,
            max_trace_bytes=int(args.max_trace_mb * 1024 * 1024),
        ),
    )
    try:
        OriginRules(policy)
    except ValueError as exc:
        print(f"agent console: {exc}", file=sys.stderr)
        return None
    return policy
