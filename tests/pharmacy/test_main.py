"""`python -m pharmacy_reference`: the reference pharmacy served by hand, as docs/integrations.md tells."""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.request

from tests.cli.test_local_up_pharmacy import _free_port


def test_served_by_hand_it_answers_with_the_token_given_and_stops_on_a_signal() -> None:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "pharmacy_reference", "--port", str(port), "--token-stdin"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.write("hand-token\n")
        process.stdin.flush()
        assert process.stdout.readline().startswith(f"reference pharmacy at http://127.0.0.1:{port} ")
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/prescriptions/rx-o-1/cancel",
            method="POST",
            headers={"Authorization": "Bearer hand-token", "Idempotency-Key": "cancelPrescription:rx-o-1"},
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert answer.status == 200  # a cancel of something never created succeeds (the contract)
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
