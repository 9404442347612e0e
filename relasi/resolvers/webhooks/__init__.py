"""Webhooks on the change log: endpoints, fan-out, signed delivery with retries, safety.

- `endpoints`: saving, rotating and deleting endpoints (what GraphQL mutations call);
- `safety`: which URLs may be called, checked on save and again on every send;
- `secrets`: signing secrets, stored encrypted, and the Standard Webhooks headers;
- `fanout`: change log -> one delivery per matching endpoint and event, in order;
- `payloads`: a delivery's body, the record seen with its endpoint owner's scopes;
- `delivery`: claiming due deliveries, sending them, retries and endpoint health;
- `deliveries`: reading deliveries and their attempts, and replays;
- `background`: the jobs that run it all (relasi/jobs/): fan-out, delivery, a sweep.
"""
