"""Webhooks on the change log: endpoints, fan-out, signed delivery with retries, safety.

- `endpoints`: saving, rotating and deleting endpoints (what GraphQL mutations call);
- `safety`: which URLs may be called, checked on save and again on every send;
- `secrets`: signing secrets, stored encrypted, and the Standard Webhooks headers;
- `fanout`: change log -> one delivery per matching endpoint and event, in order;
- `payloads`: a delivery's body, the record seen with its endpoint owner's scopes;
- `owners`: an endpoint stops when the key or member that saved it is revoked or removed;
- `delivery`: claiming due deliveries, pacing them, settling outcomes, retries, health;
- `sender`: posting one over a kept-alive connection to the address that was checked;
- `deliveries`: reading deliveries and their attempts, and replays;
- `background`: the jobs that run it all (relasi/jobs/): fan-out, delivery, a sweep.
"""
