"""What the change log costs the writes: ingest and the demo seed, with its triggers on and off.

    python bench/change_log.py [--single 25] [--batches 1] [--rounds 12] [--keep]

A scratch database (embedded, or on DATABASE_URL) gets the demo data set, seeded once with the
change log's triggers off and once with them on. Then, in many short rounds (this VM's speed
drifts; alternating keeps both sides under the same drift), the same requests are sent with
the log's triggers off and on (`ALTER TABLE ... DISABLE TRIGGER`, i.e. the schema before
migration 0008), the whole app driven in-process with httpx:

- `trackInteraction` by contactId, one request at a time;
- `trackInteractions` with 1,000 touches by contactId per request.

Inputs are realistic touches (timeline_ingest.py's mix: a journey stage on one in five, UTM on
web, ad and email touches). Printed: p50/p99 per request, the SQL statements the app sends per
request (the triggers run inside those statements, so the count cannot change) and the change
events written per request.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from scratch import Api, in_process, new_workspace, percentiles, scratch_database

from relasi.resolvers import global_ids
from relasi.resolvers.workspaces import create_workspace
from relasi.seed import seed_demo
from relasi.seed import vocabulary as v

# the tables migration 0008 put triggers on
LOGGED = (
    "contacts",
    "accounts",
    "deals",
    "cases",
    "segments",
    "interactions",
    "contact_identities",
    "deal_contacts",
    "timeline_events",
    "segment_changes",
)
TRIGGERS = ("change_log_insert", "change_log_update", "change_log_delete")
UTM_CHANNELS = {"WEB", "AD", "EMAIL"}
TRACK = """mutation($input: TrackInteractionInput!) {
  trackInteraction(input: $input) { created userErrors { code } } }"""
TRACK_MANY = """mutation($inputs: [TrackInteractionInput!]!) {
  trackInteractions(inputs: $inputs) { results { created userErrors { code } } userErrors { code } } }"""


async def set_log(conn: asyncpg.Connection, on: bool) -> None:
    existing = {
        (r["table"], r["name"])
        for r in await conn.fetch(
            "SELECT tgrelid::regclass::text AS table, tgname AS name FROM pg_trigger"
            " WHERE tgname = ANY($1::text[])",
            list(TRIGGERS),
        )
    }
    for table, name in sorted(existing):
        if table in LOGGED:  # names from the catalog, checked against our own list
            await conn.execute(
                f"ALTER TABLE {table} {'ENABLE' if on else 'DISABLE'} TRIGGER {name}"
            )


class Touches:
    def __init__(self, contacts: list[uuid.UUID], seed: int) -> None:
        self.rng = random.Random(seed)
        self.contacts = [global_ids.encode("Contact", c) for c in contacts]
        self.run = uuid.uuid4().hex[:6]
        self.n = 0

    def make(self) -> dict[str, Any]:
        rng = self.rng
        self.n += 1
        stage = rng.choice(list(v.TOUCHES))
        channel, kind, summary = rng.choice(v.TOUCHES[stage])
        source = v.SOURCES[channel]
        item: dict[str, Any] = {
            "contactId": rng.choice(self.contacts),
            "channel": channel,
            "kind": kind,
            "occurredAt": (datetime.now(UTC) - timedelta(seconds=rng.uniform(0, 3600))).isoformat(),
            "summary": summary.format(page=rng.choice(v.PAGES)),
            "source": source,
            "externalId": f"{source}-log-{self.run}-{self.n}",
        }
        if rng.random() < 0.2:
            item["journeyStage"] = stage
        if channel in UTM_CHANNELS:
            item["utm"] = {"source": source, "medium": channel.lower(), "campaign": "bench"}
        return item


def renamed(bodies: list[dict], on: bool, twins: dict[str, str]) -> list[dict]:
    """The same requests with externalIds of their own (a repeat would record nothing), with
    the log on sent to twin contacts (the first touch moving a journey stage must not leave
    the second one nothing to move)."""

    def item(touch: dict) -> dict:
        return {
            **touch,
            "contactId": twins[touch["contactId"]] if on else touch["contactId"],
            "externalId": f"{touch['externalId']}-{'on' if on else 'off'}",
        }

    return [
        {"inputs": [item(t) for t in b["inputs"]]} if "inputs" in b else {"input": item(b["input"])}
        for b in bodies
    ]


async def seed_times(conn: asyncpg.Connection) -> None:
    print(f"\n{'demo seed (2,000 contacts, 50,000 touches)':<44} {'s':>7} {'events':>8}")
    for on in (False, True):
        await set_log(conn, on)
        workspace_id, _ = await create_workspace(conn, f"Demo {on}")
        start = time.perf_counter()
        await seed_demo(conn, workspace_id)
        elapsed = time.perf_counter() - start
        events = await conn.fetchval(
            "SELECT count(*) FROM change_events WHERE workspace_id = $1", workspace_id
        )
        print(f"{'log ' + ('on' if on else 'off'):<44} {elapsed:7.2f} {events:8}")


async def scenario(
    api: Api, conn: asyncpg.Connection, on: bool, bodies: list[dict], many: bool
) -> tuple[list[float], list[int], int]:
    await set_log(conn, on)
    before = await conn.fetchval("SELECT count(*) FROM change_events")
    samples, statements = [], []
    for body in bodies:
        ms, count, data = await api.timed(TRACK_MANY if many else TRACK, body)
        payload = data["trackInteractions" if many else "trackInteraction"]
        results = payload["results"] if many else [payload]
        if not all(r["created"] and not r["userErrors"] for r in results):
            raise SystemExit(f"a touch was not recorded: {payload}")
        samples.append(ms)
        statements.append(count)
    events = await conn.fetchval("SELECT count(*) FROM change_events") - before
    return samples, statements, events


async def main(args: argparse.Namespace) -> None:
    async with scratch_database(max_size=4, keep=args.keep) as (dsn, db):
        conn = await asyncpg.connect(dsn)
        try:
            version = await conn.fetchval("SHOW server_version")
            print(f"PostgreSQL {version}")
            _, key = await new_workspace(conn)
            await seed_times(conn)
            demo = await conn.fetchval("SELECT id FROM workspaces WHERE name = 'Demo True'")
            key = await _key_for(conn, demo)
            contacts = [
                r["id"]
                for r in await conn.fetch(
                    "SELECT id FROM contacts WHERE workspace_id = $1 ORDER BY id LIMIT 500", demo
                )
            ]
            touches = Touches(contacts[:250], args.seed)
            twins = dict(
                zip(touches.contacts, Touches(contacts[250:], args.seed).contacts, strict=True)
            )
            results: dict[tuple[str, bool], tuple[list[float], list[int], int]] = {}
            async with in_process(db, key) as api:
                for _ in range(args.rounds):
                    for name, many, count in (
                        ("trackInteraction, one at a time", False, args.single),
                        ("trackInteractions x1000", True, args.batches),
                    ):
                        bodies = [
                            {"inputs": [touches.make() for _ in range(1000)]}
                            if many
                            else {"input": touches.make()}
                            for _ in range(count)
                        ]
                        for on in (False, True):  # the same touches, new externalIds
                            found = await scenario(api, conn, on, renamed(bodies, on, twins), many)
                            old = results.get((name, on), ([], [], 0))
                            results[(name, on)] = (
                                old[0] + found[0],
                                old[1] + found[1],
                                old[2] + found[2],
                            )
            await set_log(conn, True)
        finally:
            await conn.close()
    print(
        f"\n{'ingest':<36} {'log':>4} {'p50 ms':>9} {'p99 ms':>9} {'SQL/req':>8} {'events/req':>10}"
    )
    for (name, on), (samples, statements, events) in results.items():
        p50, p99 = percentiles(samples)
        print(
            f"{name:<36} {'on' if on else 'off':>4} {p50:9.1f} {p99:9.1f}"
            f" {sum(statements) / len(statements):8.1f} {events / len(samples):10.1f}"
        )
    for name in ("trackInteraction, one at a time", "trackInteractions x1000"):
        off = percentiles(results[(name, False)][0])[0]
        on = percentiles(results[(name, True)][0])[0]
        print(f"{name}: the log adds {100 * (on - off) / off:+.1f} % at p50")


async def _key_for(conn: asyncpg.Connection, workspace_id: uuid.UUID) -> str:
    from relasi.auth.api_keys import create_api_key

    _, key = await create_api_key(conn, workspace_id, "bench", ["admin"])
    return key


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--single", type=int, default=25, help="single touches per round")
    parser.add_argument("--batches", type=int, default=1, help="1,000-touch batches per round")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    asyncio.run(main(parser.parse_args()))
