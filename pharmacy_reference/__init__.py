"""A reference pharmacy service implementing docs/pharmacy-api.yaml in memory: the example a pharmacy reads first.

`catalogue` seeds it like the demo; `bodies` reads requests; `records` keeps what was created and
cancelled (and the business rules); `service` adds the Idempotency-Key; `faults` misbehaves on
purpose; `app` is the WSGI app; `server` serves it in a thread.
"""
