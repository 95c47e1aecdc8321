"""`saga local up`: a persistent local AWS endpoint with the stack deployed and demo data seeded.

One process holds moto's backends, the in-process Lambda runtime and an HTTP server on
the chosen port. Clients in other processes (boto3, the AWS CLI, `saga --endpoint-url`)
reach the backends over HTTP; the Lambda handlers, running in this process, reach the very
same backends in-process (moto's mock is active here), which is what calling back into
the endpoint would do, minus the loopback round trip.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from types import FrameType
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server, select_address_family

from harness.assembly import SynthesisFailed, synthesize
from harness.inprocess import deployed
from harness.target import StackTarget
from infra import names
from localcloud.retention import Retention, Sweeper
from localcloud.wire import Wire
from saga_cli.errors import CliError
from saga_cli.local_context import REFERENCE_SECRET, reference_pharmacy, synthesis_context
from saga_console.app import create_app
from saga_console.following import FollowedTarget, follow
from saga_console.guard import Exposure, Guard
from saga_console.serve import WSGIApp, beside


class Endpoint:
    """moto's HTTP server, bound at once: a port that cannot be bound fails here, in the caller.

    moto's ThreadedMotoServer binds in its thread and waits for a ready event that thread never
    sets when the bind fails: on a busy port `saga local up` hung, deaf to Ctrl-C and SIGTERM.
    werkzeug's own bind prints its error and exits, so the socket is bound here and handed over.
    """

    def __init__(self, host: str, port: int, app: WSGIApp) -> None:
        try:
            listening = socket.create_server((host, port), family=select_address_family(host, port))
        except (OSError, OverflowError) as error:
            raise CliError(f"cannot serve on {host}:{port}: {_reason(error)}") from None
        with listening:  # werkzeug takes a duplicate of it
            self._server: BaseWSGIServer = make_server(
                host, port, app, threaded=True, request_handler=MotoRequestHandler, fd=listening.fileno()
            )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for a serve_forever that must have begun
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()


class Gate:
    """Answers 503 until the stack is deployed, and again once shutdown begins.

    moto's CloudFormation creates a stack's resources lazily: a DescribeStacks or
    ListStackResources that arrives while CreateStack runs resolves the outputs and creates
    the resources it names a second time, in the caller's thread. The second creation fails
    (an SSM parameter that already exists, a Lambda function whose code was closed under it)
    and takes the deployment down. AWS answers such a call with CREATE_IN_PROGRESS; this
    endpoint is not up until the stack is, so it says that instead. Closing it again waits
    (a bounded time) for the calls already inside moto, so none runs while the backends stop.

    The body is HTML: the SDKs read a 5xx whose body starts with <html> as a generic error
    (botocore's parser does, for every protocol) and retry it; a browser shows the sentence.
    """

    RETRY_AFTER_SECONDS = 1
    DRAIN_SECONDS = 5.0
    """How long closing waits for the calls inside: longer than any but a long poll takes."""

    def __init__(self, app: WSGIApp) -> None:
        self._app = app
        self._reason: str | None = "deploying the stack"
        self._inside = 0
        self._changed = threading.Condition()

    def open(self) -> None:
        with self._changed:
            self._reason = None

    def close(self, reason: str) -> bool:
        """Answer 503 from now on; True once no call is inside any more (False: some still were)."""
        with self._changed:
            self._reason = reason
            return self._changed.wait_for(lambda: self._inside == 0, timeout=self.DRAIN_SECONDS)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with self._changed:
            reason = self._reason
            if reason is None:
                self._inside += 1
        if reason is None:
            try:
                return self._app(environ, start_response)
            finally:
                with self._changed:
                    self._inside -= 1
                    self._changed.notify_all()
        body = f"<html><body><p>saga local up is {reason}; ask again in a moment.</p></body></html>\n".encode()
        unavailable = HTTPStatus.SERVICE_UNAVAILABLE
        start_response(
            f"{unavailable.value} {unavailable.phrase}",
            [
                ("Content-Type", "text/html; charset=utf-8"),
                ("Content-Length", str(len(body))),
                ("Retry-After", str(self.RETRY_AFTER_SECONDS)),
            ],
        )
        return [body]


def endpoint_app(console: WSGIApp) -> WSGIApp:
    """The console under /console/ and the AWS APIs (moto, behind Wire's refusals) beside it, on one app."""
    return beside(console, Wire(DomainDispatcherApplication(create_backend_app)))


def _reason(error: OSError | OverflowError) -> str:
    """The error's own words: create_server appends the address, which the caller's line already names."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.split(" (while attempting to bind")[0]
    return str(error)


def configured_elsewhere(endpoint: str) -> str | None:
    """The AWS_ENDPOINT_URL* variables of this environment that name another endpoint than `endpoint`.

    The in-process cloud ignores them (LocalCloud); a user who exported one for clients should know."""
    names = sorted(
        key
        for key, value in os.environ.items()
        if (key == "AWS_ENDPOINT_URL" or key.startswith("AWS_ENDPOINT_URL_")) and value.rstrip("/") != endpoint
    )
    return ", ".join(names) or None


def serve(
    host: str,
    port: int,
    *,
    fault_injection: bool,
    ready: Callable[[str, dict[str, str]], None],
    notice: Callable[[str], None],
    stop: threading.Event | None = None,
    retention: Retention | None = None,
    exposure: Exposure | None = None,
    allow_actions: bool = False,
    context: Mapping[str, str] | None = None,
    pharmacy: str | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM (or `stop` is set), then shut down cleanly. A stop while it
    synthesizes or deploys takes effect when that step ends (Ctrl-C in a terminal reaches the
    CDK app too, one process group, and ends the synthesis at once); it never says ready.

    What finished sagas leave behind is forgotten past `retention` (localcloud/retention.py); who may
    reach the endpoint and its console is `exposure`'s to say (saga_console/guard.py).

    `context` adds to cdk.json's, as `cdk deploy -c` does; `pharmacy="reference"` serves the reference
    pharmacy on 127.0.0.1 for as long, points the stack at it and creates its token's secret."""
    with reference_pharmacy(pharmacy) as reference:
        merged = synthesis_context(context or {}, reference)
        _serve(
            host,
            port,
            fault_injection,
            ready,
            notice,
            stop,
            retention,
            exposure,
            allow_actions,
            merged,
            None if reference is None else reference.token,
        )


def _missing_secret(target: Any, endpoint: str, secret: str) -> str | None:
    """What to do when the pharmacy API's secret does not exist here yet (the stack does not create it),
    said at once rather than after the first order fails; None when it exists."""
    from botocore.exceptions import ClientError

    try:
        target.client("secretsmanager").describe_secret(SecretId=secret)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        return (
            f"the steps read the pharmacy API's token from the secret {secret}, which does not exist here: "
            f"create it before sending orders: aws --endpoint-url {endpoint} secretsmanager create-secret "
            f"--name {secret} --secret-string TOKEN (docs/integrations.md)"
        )
    return None


def _serve(
    host: str,
    port: int,
    fault_injection: bool,
    ready: Callable[[str, dict[str, str]], None],
    notice: Callable[[str], None],
    stop: threading.Event | None,
    retention: Retention | None,
    exposure: Exposure | None,
    allow_actions: bool,
    context: dict[str, str],
    reference_token: str | None,
) -> None:
    retention = retention or Retention()
    exposure = exposure or Exposure(host, port)
    stop = stop or threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    endpoint = f"http://{host}:{port}"
    # The console's target's outputs are read on first use; its actions only on loopback unless allowed
    console = follow(
        create_app(FollowedTarget(StackTarget(endpoint_url=endpoint)), host=host, allow_actions=allow_actions)
    )
    # Bound and answering before the minutes of synthesis, so a busy port fails at once and a
    # client that asks early hears why it must wait.
    gate = Gate(endpoint_app(console))
    server = Endpoint(host, port, Guard(gate, exposure))
    if elsewhere := configured_elsewhere(endpoint):
        notice(f"serving {endpoint} itself; {elsewhere} in this environment is not used here")
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request
    try:
        server.start()
        try:
            assembly = synthesize(fault_injection=fault_injection, context=context)
        except SynthesisFailed:
            if stop.is_set():  # the app died of the same Ctrl-C: stopped, not failed
                return
            raise
        if stop.is_set():
            return
        with deployed(assembly, endpoint_url=endpoint) as target:
            if stop.is_set():  # stopped while it deployed: never says ready
                return
            if reference_token is not None:
                # The team's secret, as a team creates it: through the Secrets Manager API (the stack does not).
                target.client("secretsmanager").create_secret(Name=REFERENCE_SECRET, SecretString=reference_token)
            sweeper = Sweeper(target.local, retention).start()
            try:
                gate.open()
                ready(endpoint, target.outputs)
                if reference_token is not None:
                    notice(
                        f"the steps call the reference pharmacy at {context[names.CONTEXT_PHARMACY_API_URL]} "
                        f"(docs/pharmacy-api.yaml); its token is in the local secret {REFERENCE_SECRET}"
                    )
                secret = None if reference_token is not None else context.get(names.CONTEXT_PHARMACY_API_SECRET)
                if secret and (missing := _missing_secret(target, endpoint, secret)) is not None:
                    notice(missing)
                while not stop.wait(0.2):
                    pass
            finally:
                gate.close("stopping")
                sweeper.stop()
    finally:
        gate.close("stopping")
        try:
            server.stop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
