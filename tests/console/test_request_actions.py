"""The saga page's requests (verify, reject, cancel) behind resume's protections, through Flask's test client,
on a stack whose sagas wait for a pharmacist: what is refused sends nothing."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from harness.inprocess import InProcess
from lambdas.domain import events as ev
from lambdas.domain.states import SagaState
from saga_console.app import create_app
from tests.console.test_app import OWN_ORIGIN, token_of
from tests.e2e.helpers import history
from tests.verifying_stack import state_of, verifying, verifying_assembly, waiting

__all__ = ["verifying", "verifying_assembly"]  # fixtures, used by name

FORMS = {
    "verify": {"pharmacist_id": "ph-1"},
    "reject": {"pharmacist_id": "ph-1", "reason": "allergy"},
    "cancel": {"reason": "patient asked"},
}
"""What each request's confirmation page asks for, filled in."""


def recorded(cloud: InProcess, order_id: str) -> list[str]:
    """The types of what the saga recorded after it began to wait: nothing, when a request was refused."""
    types = [e.type for e in history(cloud, order_id)]
    return types[types.index(ev.PrescriptionVerificationRequested.TYPE_KEY) + 1 :]


def post(client: FlaskClient, order_id: str, kind: str, token: str | None, **headers: str) -> int:
    data = {**FORMS[kind], "confirm": "yes", **({"token": token} if token else {})}
    return client.post(f"/console/sagas/{order_id}/{kind}", data=data, headers=headers).status_code


@pytest.mark.parametrize("kind", list(FORMS))
def test_a_request_is_refused_without_its_pages_token_from_another_origin_or_off_loopback(
    verifying: InProcess, kind: str
) -> None:
    waiting(verifying, "c-guard")
    client = create_app(verifying).test_client()
    page = f"/console/sagas/c-guard/{kind}"
    # No token; another origin with a valid token; a token of another request; a token spent already
    assert post(client, "c-guard", kind, None, **OWN_ORIGIN) == 400
    assert post(client, "c-guard", kind, token_of(client, page), Origin="http://127.0.0.1:8081") == 403
    other = next(k for k in FORMS if k != kind)
    assert post(client, "c-guard", kind, token_of(client, f"/console/sagas/c-guard/{other}"), **OWN_ORIGIN) == 403
    # Off loopback, without --allow-actions: no token on the page, and the POST refused
    exposed = create_app(verifying, host="0.0.0.0").test_client()
    assert 'name="token"' not in exposed.get(page).get_data(as_text=True)
    assert post(exposed, "c-guard", kind, "any", **OWN_ORIGIN) == 403
    # Nothing reached the saga
    assert recorded(verifying, "c-guard") == []
    assert state_of(verifying, "c-guard") is SagaState.PENDING_VERIFICATION
    # And the page's own token, from the console's origin, is taken once
    token = token_of(client, page)
    assert post(client, "c-guard", kind, token, **OWN_ORIGIN) == 303
    assert recorded(verifying, "c-guard")
    assert post(client, "c-guard", kind, token, **OWN_ORIGIN) == 403


@pytest.mark.parametrize(
    ("kind", "form", "refused"),
    [
        ("verify", {"pharmacist_id": "   "}, "the pharmacist id"),
        ("reject", {"pharmacist_id": "ph-1", "reason": " "}, "the reason"),
        ("cancel", {"reason": ""}, "the reason"),
    ],
)
def test_what_the_saga_would_refuse_comes_back_on_the_page_with_a_fresh_token_and_sends_nothing(
    verifying: InProcess, kind: str, form: dict[str, str], refused: str
) -> None:
    waiting(verifying, "c-blank")
    client = create_app(verifying).test_client()
    token = token_of(client, f"/console/sagas/c-blank/{kind}")
    answer = client.post(
        f"/console/sagas/c-blank/{kind}", data={**form, "confirm": "yes", "token": token}, headers=OWN_ORIGIN
    )
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert f"nothing sent, the saga would refuse it: {refused}" in page
    fresh = re.search(r'name="token" value="([^"]+)"', page)
    assert fresh
    assert fresh.group(1) != token
    assert recorded(verifying, "c-blank") == []
    assert state_of(verifying, "c-blank") is SagaState.PENDING_VERIFICATION
