"""The headers every console response carries: what the browser may load, frame, sniff, cache and refer."""

from __future__ import annotations

from werkzeug.wrappers import Response

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",  # console.js only: no inline script, no eval
        "style-src 'self'",  # console.css only: no style attribute (widths are SVG attributes)
        "img-src 'self'",
        "connect-src 'self'",  # the live refresh's fetches
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",  # no page of any origin may frame the console (clickjacking)
    )
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",  # frame-ancestors' older twin, for browsers without CSP 2
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

REFUSAL_HEADERS = [*HEADERS.items(), ("Cache-Control", "no-store")]
"""What the guard's refusals carry (saga_console/guard.py): a refusal is a page like the console's."""

FORM_REFERRER_POLICY = "same-origin"
"""A page with a form posting to the console: under `no-referrer` the browser sends `Origin: null` with the
POST (Fetch, "append a request Origin header"), and the action refuses it; `same-origin` still sends nothing
to any other origin."""


def protect(response: Response, *, static: bool) -> Response:
    """Add the headers a view did not set; pages, fragments and errors may hold patient data or a token."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if not static:
        response.headers["Cache-Control"] = "no-store"
    return response
