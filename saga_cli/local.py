"""`saga local up`: a persistent local AWS endpoint with the stack deployed and demo data seeded.

One process holds moto's backends, the in-process Lambda runtime and an HTTP server on
the chosen port. Clients in other processes (boto3, the AWS CLI, `saga --endpoint-url`)
reach the backends over HTTP; the Lambda handlers, running in this process, reach the very
same backends in-process (moto's mock is active here), which is what calling back into
the endpoint would do, minus the loopback round trip.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

from moto.server import ThreadedMotoServer

from localcloud.cloud import LocalCloud
from localcloud.deploy import synthesize
from localcloud.retention import Retention, Sweeper
from localcloud.seed import seed


def serve(
    host: str,
    port: int,
    *,
    fault_injection: bool,
    ready: Callable[[str, dict[str, str]], None],
    stop: threading.Event | None = None,
    retention: Retention | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM (or `stop` is set), then shut down cleanly.

    What finished sagas leave behind is forgotten past `retention` (localcloud/retention.py)."""
    retention = retention or Retention()
    stop = stop or threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    assembly = synthesize(fault_injection=fault_injection)
    cloud = LocalCloud.start(endpoint_url=f"http://{host}:{port}")
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    sweeper: Sweeper | None = None
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request
    try:
        server.start()
        cloud.deploy(assembly)
        seed(cloud.client("dynamodb"), cloud.outputs)
        sweeper = Sweeper(cloud, retention).start()
        ready(f"http://{host}:{port}", cloud.outputs)
        while not stop.wait(0.2):
            pass
    finally:
        server.stop()
        if sweeper is not None:
            sweeper.stop()
        cloud.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
