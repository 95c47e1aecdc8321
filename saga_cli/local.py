"""`saga local up`: a persistent local AWS endpoint with the stack deployed and demo data seeded.

One process holds moto's backends, the in-process Lambda runtime and an HTTP server on
the chosen port, which also serves the saga console at /console/ (moto's server, built as
moto's ThreadedMotoServer builds it, with the console beside it). Clients in other
processes (boto3, the AWS CLI, `saga --endpoint-url`) reach the backends over HTTP; the
Lambda handlers, running in this process, reach the very same backends in-process (moto's
mock is active here), which is what calling back into the endpoint would do, minus the
loopback round trip.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from localcloud.cloud import LocalCloud
from localcloud.deploy import synthesize
from localcloud.seed import seed
from saga_cli.target import Target
from saga_console.app import create_app
from saga_console.serve import beside


def serve(
    host: str,
    port: int,
    *,
    fault_injection: bool,
    ready: Callable[[str, dict[str, str]], None],
    stop: threading.Event | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM (or `stop` is set), then shut down cleanly."""
    stop = stop or threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    assembly = synthesize(fault_injection=fault_injection)
    cloud = LocalCloud.start(endpoint_url=f"http://{host}:{port}")
    endpoint = f"http://{host}:{port}"
    console = create_app(Target(endpoint_url=endpoint), host=host)  # its target's outputs are read on first use
    app = beside(console, DomainDispatcherApplication(create_backend_app))
    server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
    thread = threading.Thread(target=server.serve_forever, name="local-cloud", daemon=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request
    try:
        thread.start()
        cloud.deploy(assembly)
        seed(cloud.client("dynamodb"), cloud.outputs)
        ready(endpoint, cloud.outputs)
        while not stop.wait(0.2):
            pass
    finally:
        server.shutdown()
        thread.join()
        cloud.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
