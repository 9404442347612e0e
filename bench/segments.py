"""Segments at scale: building a dynamic behaviour segment, and what live segments add to
trackInteraction.

    python bench/segments.py [--contacts 100000] [--interactions 1000000] [--repeat 200]

Starts an embedded PostgreSQL in a temporary directory (or uses DATABASE_URL, creating a
scratch database there, dropped at the end), seeds one workspace with bulk COPY (contacts,
interactions over 180 days, deals), then, through the whole app in-process:

1. times trackInteraction with no segment defined (p50/p99, SQL statements per call);
2. times createSegment (create + materialise) of the issue's behaviour segment, "hot leads in
   Jakarta who chatted on WhatsApp in the last 14 days and have no open deal", and of a
   heavier one over every contact's touchpoints;
3. defines 50 live segments of every kind and times trackInteraction again.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import random
import time
import uuid

import asyncpg
from scratch import Api, in_process, new_workspace, percentiles, scratch_database

from relasi.analyze import analyze
from relasi.resolvers import global_ids

CITIES = ["Jakarta", "Bandung", "Surabaya", "Medan", "Semarang", "Makassar", "Denpasar", "Bogor"]
CHANNELS = ["EMAIL", "WEB", "CHAT", "WHATSAPP", "SOCIAL", "PHONE", "SMS", "AD"]
KINDS = ["PAGE_VIEW", "EMAIL_OPEN", "MESSAGE", "CALL", "FORM_SUBMIT", "AD_CLICK"]
RATINGS = ["HOT", "WARM", "COLD", None]
LIFECYCLE = ["SUBSCRIBER", "LEAD", "MARKETING_QUALIFIED", "OPPORTUNITY", "CUSTOMER"]

ISSUE_RULE = {
    "leadRating": {"eq": "HOT"},
    "city": {"eq": "Jakarta"},
    "touchpoints": {"matching": {"channel": {"eq": "WHATSAPP"}}, "withinDays": 14},
    "deals": {"none": {"status": {"eq": "OPEN"}}},
}
HEAVY_RULE = {"touchpoints": {"atLeast": 3, "withinDays": 30}}

CREATE = """mutation($input: CreateSegmentInput!) {
  createSegment(input: $input) { segment { id size } userErrors { field message } } }"""
TRACK = """mutation($input: TrackInteractionInput!) {
  trackInteraction(input: $input) { interaction { id } userErrors { message } } }"""


def live_rule(i: int) -> dict:
    """The i-th of 50 live segments: every kind of rule."""
    city, channel = CITIES[i % len(CITIES)], CHANNELS[i % len(CHANNELS)]
    return [
        {"city": {"eq": city}, "leadRating": {"eq": "HOT"}},
        {"touchpoints": {"matching": {"channel": {"eq": channel}}, "withinDays": 14, "atLeast": 2}},
        {"lastTouchpoint": {"olderThanDays": 30 + i}},
        {"averageSentiment": {"lt": -0.2}, "city": {"eq": city}},
        {"deals": {"none": {"status": {"eq": "OPEN"}}}, "lifecycleStage": {"eq": LIFECYCLE[i % 5]}},
    ][i % 5]


async def seed(conn: asyncpg.Connection, workspace_id: uuid.UUID, contacts: int, touches: int):
    """Bulk COPY: contacts, touchpoints over 180 days, a deal for one contact in ten."""
    rng = random.Random(7)
    now = datetime.datetime.now(datetime.UTC)
    ids = [uuid.uuid4() for _ in range(contacts)]
    await conn.copy_records_to_table(
        "contacts",
        columns=["workspace_id", "id", "first_name", "city", "lead_rating", "lifecycle_stage"],
        records=(
            (
                workspace_id,
                pk,
                f"C{i}",
                rng.choice(CITIES),
                rng.choice(RATINGS),
                rng.choice(LIFECYCLE),
            )
            for i, pk in enumerate(ids)
        ),
    )
    await conn.copy_records_to_table(
        "interactions",
        columns=["workspace_id", "contact_id", "channel", "kind", "occurred_at", "sentiment"],
        records=(
            (
                workspace_id,
                rng.choice(ids),
                rng.choice(CHANNELS),
                rng.choice(KINDS),
                now - datetime.timedelta(seconds=rng.randrange(180 * 86_400)),
                rng.choice([None, None, round(rng.uniform(-1, 1), 3)]),
            )
            for _ in range(touches)
        ),
    )
    stages = await conn.fetch(
        "SELECT s.pipeline_id, s.id FROM pipeline_stages s WHERE s.workspace_id = $1", workspace_id
    )
    deals = [(uuid.uuid4(), rng.choice(stages), rng.choice(ids)) for _ in range(contacts // 10)]
    await conn.copy_records_to_table(
        "deals",
        columns=["workspace_id", "id", "name", "pipeline_id", "stage_id"],
        records=((workspace_id, d, "Deal", s["pipeline_id"], s["id"]) for d, s, _ in deals),
    )
    await conn.copy_records_to_table(
        "deal_contacts",
        columns=["workspace_id", "deal_id", "contact_id"],
        records=((workspace_id, d, c) for d, _, c in deals),
    )
    await analyze(conn, ["contacts", "interactions", "deals", "deal_contacts"])
    return ids


async def _post(api: Api, query: str, variables: dict) -> dict:
    """The mutation's payload, which must have no userErrors."""
    (payload,) = (await api.post(query, variables)).values()
    assert not payload["userErrors"], payload["userErrors"]
    return payload


async def track_latency(api: Api, contact_ids, repeat) -> tuple[float, float, int]:
    rng = random.Random(11)
    samples, statements = [], 0
    for _ in range(repeat):
        contact = global_ids.encode("Contact", rng.choice(contact_ids))
        variables = {
            "input": {"contactId": contact, "channel": rng.choice(CHANNELS), "kind": "MESSAGE"}
        }
        elapsed, statements, data = await api.timed(TRACK, variables)
        assert not data["trackInteraction"]["userErrors"], data
        samples.append(elapsed)
    return (*percentiles(samples), statements)


async def create(api: Api, name, rule) -> tuple[float, int]:
    start = time.perf_counter()
    payload = await _post(api, CREATE, {"input": {"name": name, "rule": rule}})
    return time.perf_counter() - start, payload["segment"]["size"]


async def main(contacts: int, touches: int, repeat: int) -> None:
    async with scratch_database() as (_, db):
        async with db.pool.acquire() as conn:
            workspace_id, key = await new_workspace(conn)
            started = time.perf_counter()
            ids = await seed(conn, workspace_id, contacts, touches)
            print(
                f"seeded {contacts:,} contacts, {touches:,} interactions, {contacts // 10:,} deals"
                f" in {time.perf_counter() - started:.1f} s"
            )
        async with in_process(db, key) as api:
            before = await track_latency(api, ids, repeat)
            seconds, size = await create(api, "Issue example", ISSUE_RULE)
            print(
                f"\nbuild 'hot leads in Jakarta, WhatsApp in 14 days, no open deal': {seconds * 1000:.0f} ms ({size:,} members)"
            )
            seconds, size = await create(api, "Engaged", HEAVY_RULE)
            print(
                f"build 'at least 3 touchpoints in 30 days':                   {seconds * 1000:.0f} ms ({size:,} members)"
            )
            started = time.perf_counter()
            for i in range(48):
                await create(api, f"Live {i}", live_rule(i))
            print(f"built 48 more live segments in {time.perf_counter() - started:.1f} s")
            after = await track_latency(api, ids, repeat)
        print(
            f"\n{'trackInteraction':<32} {'p50 ms':>8} {'p99 ms':>8} {'SQL':>5}   ({repeat} calls each)"
        )
        for name, (p50, p99, sql) in (("no segments", before), ("50 live segments", after)):
            print(f"{name:<32} {p50:8.2f} {p99:8.2f} {sql:5d}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=200, help="trackInteraction calls timed")
    args = parser.parse_args()
    asyncio.run(main(args.contacts, args.interactions, args.repeat))
