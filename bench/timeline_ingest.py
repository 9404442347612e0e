"""Journey timelines at scale, and interaction ingest throughput, through the whole ASGI app.

    python bench/timeline_ingest.py [--interactions 1000000] [--repeat 200] [--ingest 2000] [--keep]

Like api_latency.py: a scratch database on an embedded PostgreSQL in a temporary directory (or
on DATABASE_URL), and requests sent in-process with httpx (no network noise). The workspace is
bulk-loaded with COPY: `--accounts` accounts, `--contacts` contacts with an email each, deals
with their stage histories, cases, and `--interactions` touchpoints: one "heavy" contact with
exactly 100,000, one "light" contact with exactly 100, the rest spread over the other contacts.
`relasi_derive_timeline` then writes the events the API would have recorded (journey
transitions, deal stage moves, cases), as for the demo data set.

1. Timeline pages (20 events): first and deep page of the heavy contact and of its account,
   first page of the light contact; p50/p99 and the SQL statements per request, then EXPLAIN
   ANALYZE of the deep pages' timeline statement. A deep page starts from the cursor of the
   event at that position, read in SQL, not from walking 5,000 pages.
2. Ingest: trackInteraction one per request (sequential, and 8 in flight) and
   trackInteractions in batches of 100 and 1,000, by contactId and by email: interactions/s,
   request p50/p99, SQL statements per interaction, and how busy this process was ("py CPU":
   app and client share it, PostgreSQL runs in its own process).

The timeline checks fail loudly if a deep page does not start where the SQL said it would, so
TIMELINE_ROWS (the bench's copy of the timeline's sources) cannot drift from the resolver's
unnoticed.

The scratch database is dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
from scratch import Api, in_process, new_workspace, percentiles, scratch_database

from relasi.db import Database, system_connection
from relasi.resolvers import global_ids
from relasi.resolvers.timeline import cursor_of
from relasi.seed import vocabulary as v

HEAVY = 100_000  # touchpoints of the heavy contact
LIGHT = 100  # touchpoints of the light contact
DEEP = 99_000  # events before the deep page
PAGE = 20

JOURNEY = ("AWARENESS", "CONSIDERATION", "DECISION", "RETENTION", "ADVOCACY")
JOURNEY_WEIGHTS = (30, 25, 15, 20, 10)
LIFECYCLES = {
    "AWARENESS": "LEAD",
    "CONSIDERATION": "MARKETING_QUALIFIED",
    "DECISION": "OPPORTUNITY",
    "RETENTION": "CUSTOMER",
    "ADVOCACY": "EVANGELIST",
}
UTM_CHANNELS = ("WEB", "AD", "EMAIL")


def _timeline_query(owner: str) -> str:
    return f"""query($id: ID!, $after: String) {{
  {owner}(id: $id) {{
    timeline(first: {PAGE}, after: $after) {{
      edges {{ cursor node {{ id occurredAt kind
                              ... on InteractionEvent {{ channel interactionKind }} }} }}
      pageInfo {{ hasNextPage endCursor }}
    }}
  }}
}}"""


TRACK = """mutation($input: TrackInteractionInput!) {
  trackInteraction(input: $input) { created interaction { id } userErrors { field message code } }
}"""

TRACK_MANY = """mutation($inputs: [TrackInteractionInput!]!) {
  trackInteractions(inputs: $inputs) {
    results { created interaction { id } userErrors { field message code } }
    userErrors { field message code }
  }
}"""

# (occurred_at, id) of every event on one timeline, from the resolver's sources (all kinds): a
# contact's own touches and events, and the events of the deals it is on; an account's touches
# and events. $1 workspace, $2 contact or account.
TIMELINE_ROWS = {
    "contact": """
        SELECT occurred_at, id FROM interactions WHERE workspace_id = $1 AND contact_id = $2
        UNION ALL
        SELECT occurred_at, id FROM timeline_events WHERE workspace_id = $1 AND contact_id = $2
        UNION ALL
        SELECT occurred_at, id FROM timeline_events
         WHERE workspace_id = $1 AND contact_id IS NULL AND deal_id IN (
               SELECT deal_id FROM deal_contacts WHERE workspace_id = $1 AND contact_id = $2)""",
    "account": """
        SELECT occurred_at, id FROM interactions WHERE workspace_id = $1 AND account_id = $2
        UNION ALL
        SELECT occurred_at, id FROM timeline_events WHERE workspace_id = $1 AND account_id = $2""",
}


# --- the scratch database ---------------------------------------------------------------------


class _RecordingDatabase(Database):
    """Also keeps each statement's arguments while `recorded` is a list, so the timeline
    statement can be EXPLAINed exactly as the app ran it."""

    recorded: list | None = None

    def _on_query(self, record) -> None:
        super()._on_query(record)
        if self.recorded is not None:
            self.recorded.append(record)


# --- seeding ------------------------------------------------------------------------------------


@dataclass
class Seeded:
    workspace_id: uuid.UUID
    key: str
    heavy: uuid.UUID
    light: uuid.UUID
    heavy_account: uuid.UUID
    others: list[tuple[uuid.UUID, str]]  # (id, email) of the spread contacts, for ingest


class _Generator:
    """Deterministic rows for one workspace; ids come from the seeded RNG."""

    def __init__(self, ws: uuid.UUID, seed: int, now: datetime) -> None:
        self.ws = ws
        self.rng = random.Random(seed)
        self.now = now

    def uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def ago(self, min_days: float, max_days: float) -> datetime:
        return self.now - timedelta(days=self.rng.uniform(min_days, max_days))

    def members(self) -> list[tuple]:
        rows = []
        for name, _ in v.MEMBERS:
            created = self.ago(900, 1200)
            email = name.lower().replace(" ", ".") + "@relasi-bench.co.id"
            rows.append((self.ws, self.uuid(), name, email, created, created))
        return rows

    def accounts(self, n: int, members: list[uuid.UUID]) -> list[tuple]:
        rng, rows = self.rng, []
        for i in range(n):
            name = f"{rng.choice(v.COMPANY_WORDS)} {rng.choice(v.COMPANY_SUFFIXES)} {i}"
            domain = "".join(c for c in name.lower() if c.isalnum()) + ".co.id"
            created = self.ago(1100, 1200)
            rows.append(
                (
                    self.ws,
                    self.uuid(),
                    name,
                    domain,
                    rng.choice(v.INDUSTRIES),
                    int(rng.lognormvariate(5, 1.4)) + 2,
                    "ID",
                    rng.choice(members),
                    created,
                    created,
                )
            )
        return rows

    def contacts(
        self, n: int, accounts: list[tuple], members: list[uuid.UUID]
    ) -> tuple[list[tuple], list[tuple]]:
        """Contact 0 is the heavy one (on account 0), contact 1 the light one (account 1)."""
        rng, rows, identities = self.rng, [], []
        for i in range(n):
            if i < 2:
                account = accounts[i]
            else:
                account = rng.choice(accounts) if rng.random() < 0.85 else None
            first, last = rng.choice(v.FIRST_NAMES), rng.choice(v.LAST_NAMES)
            stage = "ADVOCACY" if i == 0 else rng.choices(JOURNEY, JOURNEY_WEIGHTS)[0]
            # the heavy contact's 100,000 touches span three years: about 90 a day
            created = self.now - timedelta(days=1095) if i == 0 else self.ago(60, 1000)
            cid = self.uuid()
            rows.append(
                (
                    self.ws,
                    cid,
                    first,
                    last,
                    "ID",
                    account[1] if account else None,
                    LIFECYCLES[stage],
                    stage,
                    rng.choice(members),
                    created,
                    created,
                )
            )
            local = "".join(c for c in f"{first}.{last}.{i}".lower() if c.isalnum() or c == ".")
            email = f"{local}@{account[3] if account else 'gmail.com'}"
            identities.append((self.ws, "EMAIL", "", email, cid, True, 0, created))
        return rows, identities

    def touch_counts(self, total: int, contacts: list[tuple]) -> list[int]:
        """HEAVY and LIGHT for the first two contacts; the rest spread, deeper journeys
        getting more, everyone at least one."""
        rest = contacts[2:]
        spread = total - HEAVY - LIGHT
        if spread < len(rest):
            raise SystemExit(f"--interactions must be at least {HEAVY + LIGHT + len(rest):,}")
        counts = [1] * len(rest)
        weights = [1 + JOURNEY.index(c[7]) for c in rest]
        for i in self.rng.choices(range(len(rest)), weights, k=spread - len(rest)):
            counts[i] += 1
        return [HEAVY, LIGHT, *counts]

    def interactions(self, contacts: list[tuple], counts: list[int]) -> Iterator[tuple]:
        """Touches in time order per contact; the journey stage only goes forward and is set on
        the first touch of each stage and on about one touch in four after it, so
        relasi_derive_timeline finds the transitions."""
        rng, ws, n = self.rng, self.ws, 0
        now = self.now.timestamp()
        for contact, count in zip(contacts, counts, strict=True):
            cid, account, final, created = contact[1], contact[5], contact[7], contact[9]
            start = created.timestamp() + 3600
            span = now - start
            reached = JOURNEY.index(final) + 1
            previous = -1
            for k, offset in enumerate(sorted(rng.random() for _ in range(count))):
                level = min(reached - 1, k * reached // count)
                stage = JOURNEY[level]
                channel, kind, summary = rng.choice(v.TOUCHES[stage])
                journey = stage if level != previous or rng.random() < 0.25 else None
                previous = level
                source = v.SOURCES[channel]
                at = datetime.fromtimestamp(start + offset * span, UTC)
                utm = (
                    (source, channel.lower(), rng.choice(v.CAMPAIGNS))
                    if channel in UTM_CHANNELS
                    else (None, None, None)
                )
                yield (
                    ws,
                    uuid.UUID(int=rng.getrandbits(128), version=4),
                    cid,
                    account,
                    channel,
                    kind,
                    at,
                    journey,
                    summary.format(page=rng.choice(v.PAGES)),
                    source,
                    f"{source}-{n}",
                    *utm,
                    at,
                )
                n += 1

    def deals(
        self, accounts_contacts: dict[uuid.UUID, list[uuid.UUID]], stages: list, pipeline_id
    ) -> tuple[list, list, list]:
        """Half as many deals as accounts with contacts, three of them on the heavy account
        (with the heavy contact), each with its stage moves."""
        rng, deals, links, changes = self.rng, [], [], []
        opens = [s for s in stages if s["status"] == "OPEN"]
        won = next(s for s in stages if s["status"] == "WON")
        lost = next(s for s in stages if s["status"] == "LOST")
        accounts = list(accounts_contacts)
        chosen = [accounts[0]] * 3 + rng.sample(accounts, len(accounts) // 2)
        for n, account in enumerate(chosen):
            did = self.uuid()
            stage = stages[n % len(stages)]
            path = list(opens[: stage["position"] + 1]) if stage["status"] == "OPEN" else []
            if stage is won:
                path = [*opens, won]
            elif stage is lost:
                path = [*opens[: rng.randint(1, len(opens))], lost]
            at = self.ago(60, 360)
            created, previous = at, None
            for m, step in enumerate(path):
                if m:
                    at += timedelta(days=rng.uniform(2, 12))
                changes.append((self.ws, self.uuid(), did, previous, step["id"], at))
                previous = step["id"]
            closed = at if stage["status"] != "OPEN" else None
            amount = Decimal(rng.randint(500, 500_000))
            deals.append(
                (
                    self.ws,
                    did,
                    f"Deal {n + 1}",
                    account,
                    pipeline_id,
                    stage["id"],
                    amount,
                    "USD",
                    closed,
                    created,
                    closed or created,
                )
            )
            people = accounts_contacts[account]
            on_deal = rng.sample(people, min(len(people), rng.randint(1, 3)))
            if n < 3 and people[0] not in on_deal:
                on_deal[0] = people[0]  # the heavy contact (first of account 0)
            for person in on_deal:
                links.append((self.ws, did, person, "CHAMPION", created))
        return deals, links, changes

    def cases(self, contacts: list[tuple], members: list[uuid.UUID]) -> list[tuple]:
        """One case per five contacts; five on the heavy contact, one on the light one."""
        rng, rows = self.rng, []
        hours = {"URGENT": 4, "HIGH": 8, "NORMAL": 24, "LOW": 72}
        people = [contacts[0]] * 5 + [contacts[1]] + rng.sample(contacts, len(contacts) // 5)
        for person in people:
            priority = rng.choice(list(hours))
            status = rng.choices(("NEW", "OPEN", "PENDING", "RESOLVED", "CLOSED"), (1, 1, 1, 3, 4))[
                0
            ]
            created = self.ago(1, 300)
            first = None if status == "NEW" else created + timedelta(hours=rng.uniform(0.1, 30))
            resolved = (
                created + timedelta(hours=rng.uniform(2, 120))
                if status in ("RESOLVED", "CLOSED")
                else None
            )
            rows.append(
                (
                    self.ws,
                    self.uuid(),
                    rng.choice(v.CASE_SUBJECTS),
                    person[1],
                    person[5],
                    status,
                    priority,
                    rng.choice(("EMAIL", "CHAT", "WHATSAPP", "PHONE")),
                    created + timedelta(hours=hours[priority]),
                    first,
                    resolved,
                    rng.choice(members),
                    created,
                    resolved or first or created,
                )
            )
        return rows


COLUMNS = {
    "members": ("workspace_id", "id", "name", "email", "created_at", "updated_at"),
    "accounts": (
        "workspace_id",
        "id",
        "name",
        "domain",
        "industry",
        "employee_count",
        "country",
        "owner_id",
        "created_at",
        "updated_at",
    ),
    "contacts": (
        "workspace_id",
        "id",
        "first_name",
        "last_name",
        "country",
        "account_id",
        "lifecycle_stage",
        "journey_stage",
        "owner_id",
        "created_at",
        "updated_at",
    ),
    "contact_identities": (
        "workspace_id",
        "kind",
        "source",
        "value",
        "contact_id",
        "is_primary",
        "position",
        "created_at",
    ),
    "interactions": (
        "workspace_id",
        "id",
        "contact_id",
        "account_id",
        "channel",
        "kind",
        "occurred_at",
        "journey_stage",
        "summary",
        "source",
        "external_id",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "created_at",
    ),
    "deals": (
        "workspace_id",
        "id",
        "name",
        "account_id",
        "pipeline_id",
        "stage_id",
        "amount",
        "currency",
        "closed_at",
        "created_at",
        "updated_at",
    ),
    "deal_contacts": ("workspace_id", "deal_id", "contact_id", "role", "created_at"),
    "deal_stage_changes": (
        "workspace_id",
        "id",
        "deal_id",
        "from_stage_id",
        "to_stage_id",
        "changed_at",
    ),
    "cases": (
        "workspace_id",
        "id",
        "subject",
        "contact_id",
        "account_id",
        "status",
        "priority",
        "channel",
        "sla_due_at",
        "first_response_at",
        "resolved_at",
        "owner_id",
        "created_at",
        "updated_at",
    ),
}


async def seed(dsn: str, args: argparse.Namespace) -> Seeded:
    # a plain connection: binary COPY with asyncpg's own codecs, and session settings that
    # stay out of the app's pool
    conn = await asyncpg.connect(dsn)
    try:
        workspace_id, key = await new_workspace(conn, "Timeline bench")
        # relasi_derive_timeline skips a workspace that has any event already
        if await conn.fetchval(
            "SELECT count(*) FROM timeline_events WHERE workspace_id = $1", workspace_id
        ):
            raise SystemExit("the new workspace already has timeline events: nothing to derive")
        now = datetime.combine(date.today(), datetime.min.time(), UTC)
        gen = _Generator(workspace_id, args.seed, now)
        pipeline = await conn.fetchrow(
            "SELECT id FROM pipelines WHERE workspace_id = $1 AND is_default", workspace_id
        )
        stages = await conn.fetch(
            "SELECT id, position, status FROM pipeline_stages"
            " WHERE workspace_id = $1 AND pipeline_id = $2 ORDER BY position",
            workspace_id,
            pipeline["id"],
        )
        started = time.perf_counter()
        members = gen.members()
        member_ids = [m[1] for m in members]
        accounts = gen.accounts(args.accounts, member_ids)
        contacts, identities = gen.contacts(args.contacts, accounts, member_ids)
        counts = gen.touch_counts(args.interactions, contacts)
        by_account: dict[uuid.UUID, list[uuid.UUID]] = {}
        for c in contacts:
            if c[5] is not None:
                by_account.setdefault(c[5], []).append(c[1])
        deals, deal_contacts, changes = gen.deals(by_account, stages, pipeline["id"])
        tables = [
            ("members", members),
            ("accounts", accounts),
            ("contacts", contacts),
            ("contact_identities", identities),
            ("deals", deals),
            ("deal_contacts", deal_contacts),
            ("deal_stage_changes", changes),
            ("cases", gen.cases(contacts, member_ids)),
        ]
        async with conn.transaction():
            for table, rows in tables:
                await conn.copy_records_to_table(table, records=rows, columns=COLUMNS[table])
            # streamed: rows are generated while PostgreSQL writes the previous buffer
            await conn.copy_records_to_table(
                "interactions",
                records=gen.interactions(contacts, counts),
                columns=COLUMNS["interactions"],
            )
        loaded = time.perf_counter()
        print(
            f"loaded {args.interactions:,} interactions, {len(contacts):,} contacts,"
            f" {len(accounts):,} accounts, {len(deals):,} deals, {len(tables[-1][1]):,} cases"
            f" in {loaded - started:.1f} s"
        )
        # the window over every touch of the workspace sorts in memory instead of on disk
        await conn.execute("SET work_mem = '256MB'")
        await conn.execute("SELECT relasi_derive_timeline($1)", workspace_id)
        derived = time.perf_counter()
        events = await conn.fetchval(
            "SELECT count(*) FROM timeline_events WHERE workspace_id = $1", workspace_id
        )
        print(f"derived {events:,} timeline events in {derived - loaded:.1f} s")
        # as autovacuum would leave it: statistics, and a visibility map with hint bits set
        # (as the login, the tables' owner: relasi_system may not vacuum them)
        await conn.execute("RESET ROLE")
        await conn.execute("VACUUM ANALYZE")
        # flush the load now rather than in a checkpoint during the measurements
        with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CHECKPOINT")
        print(f"VACUUM ANALYZE, CHECKPOINT in {time.perf_counter() - derived:.1f} s")
        print(f"seeding took {time.perf_counter() - started:.1f} s")
    finally:
        await conn.close()
    return Seeded(
        workspace_id,
        key,
        heavy=contacts[0][1],
        light=contacts[1][1],
        heavy_account=accounts[0][1],
        others=[(c[1], i[3]) for c, i in zip(contacts[2:], identities[2:], strict=True)],
    )


# --- timing ---------------------------------------------------------------------------------------


async def _position(conn, owner: str, ws: uuid.UUID, parent: uuid.UUID, at: int) -> list:
    """The events at 0-based positions `at` and `at + 1` of a timeline, newest first."""
    return await conn.fetch(
        f"SELECT occurred_at, id FROM ({TIMELINE_ROWS[owner]}) t"
        " ORDER BY occurred_at DESC, id DESC OFFSET $3 LIMIT 2",
        ws,
        parent,
        at,
    )


async def _length(conn, owner: str, ws: uuid.UUID, parent: uuid.UUID) -> int:
    return await conn.fetchval(f"SELECT count(*) FROM ({TIMELINE_ROWS[owner]}) t", ws, parent)


async def timelines(api: Api, seeded: Seeded, repeat: int, explain: bool) -> None:
    ws = seeded.workspace_id
    async with system_connection(api.db) as conn:
        heavy_len = await _length(conn, "contact", ws, seeded.heavy)
        light_len = await _length(conn, "contact", ws, seeded.light)
        account_len = await _length(conn, "account", ws, seeded.heavy_account)
        cursors = {}
        for owner, parent in (("contact", seeded.heavy), ("account", seeded.heavy_account)):
            at, after = await _position(conn, owner, ws, parent, DEEP - 1)
            cursors[owner] = (cursor_of({"occurred_at": at[0], "id": at[1]}), after["id"])
    print(
        f"\ntimelines: heavy contact {heavy_len:,} events, light contact {light_len:,},"
        f" heavy contact's account {account_len:,}"
    )
    heavy_id = global_ids.encode("Contact", seeded.heavy)
    light_id = global_ids.encode("Contact", seeded.light)
    account_id = global_ids.encode("Account", seeded.heavy_account)
    scenarios = [
        (f"contact, {heavy_len:,} events: first page", "contact", heavy_id, None),
        (f"  same, deep page (after {DEEP:,})", "contact", heavy_id, cursors["contact"]),
        (f"contact, {light_len:,} events: first page", "contact", light_id, None),
        (f"account, {account_len:,} events: first page", "account", account_id, None),
        (f"  same, deep page (after {DEEP:,})", "account", account_id, cursors["account"]),
    ]
    requests = [
        (owner, _timeline_query(owner), {"id": node_id, "after": deep and deep[0]})
        for _, owner, node_id, deep in scenarios
    ]
    for (name, *_, deep), (owner, query, variables) in zip(scenarios, requests, strict=True):
        page = (await api.post(query, variables))[owner]["timeline"]  # also a warm-up
        if len(page["edges"]) != PAGE or not page["pageInfo"]["hasNextPage"]:
            raise SystemExit(f"{name}: expected a full page with more after it, got {page}")
        if deep and global_ids.decode_any(page["edges"][0]["node"]["id"])[1] != deep[1]:
            raise SystemExit(f"{name}: the page does not start at event {DEEP + 1:,}")
    # round-robin, so background work (checkpoints, autovacuum) hits every scenario alike
    samples: list[list[float]] = [[] for _ in scenarios]
    statements = [0] * len(scenarios)
    for _ in range(repeat):
        for i, (_, query, variables) in enumerate(requests):
            elapsed, statements[i], _ = await api.timed(query, variables)
            samples[i].append(elapsed)
    print(f"{'page of 20 events':<44} {'p50 ms':>8} {'p99 ms':>8} {'SQL':>5}   ({repeat} requests)")
    for (name, *_), times, count in zip(scenarios, samples, statements, strict=True):
        p50, p99 = percentiles(times)
        print(f"{name:<44} {p50:8.2f} {p99:8.2f} {count:5d}")
    for i in (1, 4):  # the deep pages
        await _explain(api, *requests[i], explain)


async def _explain(api: Api, owner: str, query: str, variables: dict, full: bool) -> None:
    """EXPLAIN ANALYZE the timeline statement of a request, with the arguments it ran with."""
    api.db.recorded = []
    try:
        await api.post(query, variables)
        statement = next(r for r in api.db.recorded if "CROSS JOIN LATERAL" in r.query)
    finally:
        api.db.recorded = None
    async with api.db.pool.acquire() as conn:
        found = await conn.fetchval(
            f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {statement.query}", *statement.args
        )
        plan = (json.loads(found) if isinstance(found, str) else found)[0]
        scans = []

        def walk(node: dict) -> None:
            if "Scan" in node["Node Type"]:
                target = (
                    node.get("Index Name") or node.get("Relation Name") or node.get("Function Name")
                )
                rows = node["Actual Rows"] * node["Actual Loops"]
                scans.append(f"{node['Node Type']} {target}: {rows:g} rows")
            for child in node.get("Plans", []):
                walk(child)

        walk(plan["Plan"])
        hits = plan["Plan"].get("Shared Hit Blocks", 0) + plan["Plan"].get("Shared Read Blocks", 0)
        print(
            f"\nEXPLAIN ANALYZE, {owner} deep page: {plan['Execution Time']:.2f} ms,"
            f" {hits} buffers\n  " + "\n  ".join(scans)
        )
        if full:
            for row in await conn.fetch(
                f"EXPLAIN (ANALYZE, BUFFERS) {statement.query}", *statement.args
            ):
                print("   ", row[0])


# --- ingest ---------------------------------------------------------------------------------------


class Touches:
    """Realistic trackInteraction inputs: a touch on a journey-stage channel, its source and a
    unique externalId, UTM on web, ad and email touches, a journey stage one time in five."""

    def __init__(self, seeded: Seeded, seed: int) -> None:
        self.rng = random.Random(seed)
        self.others = seeded.others
        self.n = 0
        self.run = uuid.uuid4().hex[:6]  # externalIds new to the database on every run

    def make(self, by_email: bool) -> dict:
        rng = self.rng
        self.n += 1
        contact_id, email = rng.choice(self.others)
        if not by_email:
            who: dict[str, Any] = {"contactId": global_ids.encode("Contact", contact_id)}
        elif rng.random() < 0.9:
            who = {"contact": {"email": email}}
        else:  # a visitor seen for the first time: a new contact
            who = {"contact": {"email": f"visitor.{self.run}.{self.n}@example.com"}}
        stage = rng.choice(JOURNEY)
        channel, kind, summary = rng.choice(v.TOUCHES[stage])
        source = v.SOURCES[channel]
        occurred = datetime.now(UTC) - timedelta(seconds=rng.uniform(0, 3600))
        item = {
            **who,
            "channel": channel,
            "kind": kind,
            "occurredAt": occurred.isoformat(),
            "summary": summary.format(page=rng.choice(v.PAGES)),
            "source": source,
            "externalId": f"{source}-bench-{self.run}-{self.n}",
        }
        if rng.random() < 0.2:
            item["journeyStage"] = stage
        if channel in UTM_CHANNELS:
            item["utm"] = {
                "source": source,
                "medium": channel.lower(),
                "campaign": rng.choice(v.CAMPAIGNS),
            }
        return item


def _check_created(results: list[dict]) -> None:
    for r in results:
        if not r["created"] or r["userErrors"]:
            raise SystemExit(f"an interaction was not recorded: {r}")


async def _send_all(
    api: Api, bodies: list[dict], size: int, in_flight: int
) -> tuple[list[float], float, float]:
    """Send every request, `in_flight` at a time; (request latencies in ms, wall time in s,
    CPU time of this process in s: the app and the client, as they share it)."""
    samples: list[float] = []
    gate = asyncio.Semaphore(in_flight)

    async def send(variables: dict) -> None:
        async with gate:
            start = time.perf_counter()
            data = await api.post(TRACK_MANY if size > 1 else TRACK, variables)
            samples.append((time.perf_counter() - start) * 1000)
        if size > 1:
            payload = data["trackInteractions"]
            if payload["userErrors"] or len(payload["results"]) != size:
                raise SystemExit(f"batch refused: {payload['userErrors']}")
            _check_created(payload["results"])
        else:
            _check_created([data["trackInteraction"]])

    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(send(b) for b in bodies))
    return samples, time.perf_counter() - start, time.process_time() - cpu


async def ingest(api: Api, seeded: Seeded, total: int, seed: int) -> None:
    touches = Touches(seeded, seed)
    scenarios = [
        # name, by email, interactions per request, requests in flight, requests
        ("trackInteraction, contactId, sequential", False, 1, 1, total),
        ("trackInteraction, contactId, 8 in flight", False, 1, 8, total),
        ("trackInteraction, by email, sequential", True, 1, 1, total),
        ("trackInteractions x100, contactId", False, 100, 1, max(3, total // 100)),
        ("trackInteractions x1000, contactId", False, 1000, 1, max(3, total // 1000)),
        ("trackInteractions x100, by email", True, 100, 1, max(3, total // 100)),
        ("trackInteractions x1000, by email", True, 1000, 1, max(3, total // 1000)),
    ]
    print(
        f"\n{'ingest':<44} {'int./s':>8} {'p50 ms':>9} {'p99 ms':>9} {'SQL/int.':>8}"
        f" {'py CPU':>7}   (email: 9 in 10 known, 1 in 10 a new contact)"
    )
    for name, by_email, size, in_flight, requests in scenarios:
        bodies = [
            {"inputs": [touches.make(by_email) for _ in range(size)]}
            if size > 1
            else {"input": touches.make(by_email)}
            for _ in range(requests)
        ]
        with api.db.capture_statements() as captured:
            samples, elapsed, cpu = await _send_all(api, bodies, size, in_flight)
        p50, p99 = percentiles(samples)
        rate = size * requests / elapsed
        print(
            f"{name:<44} {rate:8.0f} {p50:9.1f} {p99:9.1f} {len(captured) / requests / size:8.1f}"
            f" {cpu / elapsed:7.0%}   ({requests} requests)"
        )


# --- main ---------------------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> None:
    scratch = scratch_database(max_size=10, keep=args.keep, database=_RecordingDatabase)
    async with scratch as (dsn, db):
        version = await db.pool.fetchval("SHOW server_version")
        print(f"PostgreSQL {version}, {os.cpu_count()} CPUs")
        seeded = await seed(dsn, args)
        async with in_process(db, seeded.key) as api:
            await timelines(api, seeded, args.repeat, args.explain)
            if args.ingest:
                await ingest(api, seeded, args.ingest, args.seed)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=1_000_000, help="touchpoints to seed")
    parser.add_argument("--contacts", type=int, default=5_000)
    parser.add_argument("--accounts", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=200, help="requests per timeline scenario")
    parser.add_argument(
        "--ingest", type=int, default=2_000, help="interactions per ingest scenario (0: skip)"
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed of the data set")
    parser.add_argument("--explain", action="store_true", help="print the full EXPLAIN plans")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    asyncio.run(main(parser.parse_args()))
