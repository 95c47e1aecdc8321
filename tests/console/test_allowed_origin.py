"""`--allow-origin`, in Chromium: a page of the origin named calls the AWS APIs and reads the answers; others cannot."""

from __future__ import annotations

from typing import Any

from werkzeug.serving import make_server

from harness.inprocess import InProcess
from saga_cli.local import endpoint_app
from saga_console.app import create_app
from saga_console.guard import Exposure, Guard
from saga_console.serve import running
from tests.console.attack import AttackSite
from tests.console.test_hostile_endpoint import ATTACK, _settled


def test_a_page_of_the_origin_named_reads_the_aws_apis_and_a_page_of_another_does_not(
    cloud: InProcess, browser: Any
) -> None:
    with AttackSite() as named, AttackSite() as other:
        # Given the endpoint as saga local up --allow-origin <named> serves it, on the in-process cloud's backends
        server = make_server("127.0.0.1", 0, create_app(cloud), threaded=True)
        exposure = Exposure("127.0.0.1", server.port, origins=(named.origin,))
        server.app = Guard(endpoint_app(create_app(cloud)), exposure)
        with running(server):
            page = ATTACK % {"endpoint": f"http://127.0.0.1:{server.port}"}
            # When a page of the origin named lists and scans the tables, as a team's own web tool would
            browser.get(named.serve("/tool", page))
            # Then it reads them
            assert _settled(browser, "aws").startswith("read "), "the named origin could not call"
            # And a page of any other origin is refused before its call runs
            browser.get(other.serve("/tool", page))
            assert _settled(browser, "aws").startswith("blocked: TypeError")
