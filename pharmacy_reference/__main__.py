"""Serve the reference pharmacy by hand: `python -m pharmacy_reference --port 8081` (its token on stdin or generated).

For trying `saga local up -c pharmacy_api_url=... -c pharmacy_api_secret=...` against a server of
the contract before writing one's own (docs/integrations.md). Prints the URL and, if it made one,
the token to put in the secret; Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import secrets
import signal
import sys
import threading

from pharmacy_reference.faults import Faults
from pharmacy_reference.server import PREFERRED_PORT, serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pharmacy_reference", description=__doc__)
    parser.add_argument("--port", type=int, default=PREFERRED_PORT, help=f"on 127.0.0.1 (default {PREFERRED_PORT})")
    parser.add_argument("--token-stdin", action="store_true", help="read the bearer token from stdin")
    parser.add_argument("--unavailable-first", type=int, default=0, help="answer each key 503 this many times")
    args = parser.parse_args(argv)
    token = sys.stdin.readline().strip() if args.token_stdin else secrets.token_urlsafe(32)
    try:
        served = serve(token, Faults(unavailable_first=args.unavailable_first), port=args.port)
    except OSError as error:
        print(f"cannot serve on 127.0.0.1:{args.port}: {error.strerror or error}", file=sys.stderr)
        return 1
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"reference pharmacy at {served.url} (docs/pharmacy-api.yaml); Ctrl-C to stop", flush=True)
    if not args.token_stdin:
        print(f"its bearer token (put it in your secret): {token}", flush=True)
    try:
        stop.wait()
    finally:
        served.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
