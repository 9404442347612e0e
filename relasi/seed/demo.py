"""The demo workspace: a realistic, deterministic CRM built with bulk COPY in a few seconds.

Same seed and `now` give the same data; ids derive from the workspace id, so two demo
workspaces never share ids. Each contact's touchpoints follow a journey: sorted by time,
their journey stage never goes back, and the contact's stage is the last one reached.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import asyncpg

from relasi.analyze import analyze
from relasi.db import init_connection, use_workspace
from relasi.seed import vocabulary as v
from relasi.seed.columns import COLUMNS

JOURNEY = ("AWARENESS", "CONSIDERATION", "DECISION", "RETENTION", "ADVOCACY")
JOURNEY_WEIGHTS = (30, 25, 15, 20, 10)
LIFECYCLES = {
    "AWARENESS": ("SUBSCRIBER", "LEAD"),
    "CONSIDERATION": ("LEAD", "MARKETING_QUALIFIED"),
    "DECISION": ("SALES_QUALIFIED", "OPPORTUNITY"),
    "RETENTION": ("CUSTOMER", "CUSTOMER", "CHURNED"),
    "ADVOCACY": ("EVANGELIST", "CUSTOMER"),
}
SLA_HOURS = {"URGENT": 4, "HIGH": 8, "NORMAL": 24, "LOW": 72}
CONVERSATIONAL = {"CHAT", "WHATSAPP", "SMS", "PHONE", "SOCIAL"}

COUNTS = {"accounts": 220, "contacts": 2000, "deals": 640, "cases": 420, "interactions": 50_000}


class _Demo:
    def __init__(self, workspace_id: uuid.UUID, seed: int, now: datetime) -> None:
        self.ws = workspace_id
        self.rng = random.Random(seed)
        self.now = now

    def id(self, kind: str, n: int) -> uuid.UUID:
        return uuid.uuid5(self.ws, f"{kind}:{n}")

    def before_now(self, min_days: float, max_days: float) -> datetime:
        return self.now - timedelta(days=self.rng.uniform(min_days, max_days))

    def members(self) -> list[tuple]:
        rows = []
        for n, (name, _) in enumerate(v.MEMBERS):
            email = name.lower().replace(" ", ".") + "@relasi-demo.co.id"
            created = self.now - timedelta(days=900 - n)
            rows.append((self.ws, self.id("member", n), name, email, created, created))
        return rows

    def staff(self, team: str) -> list[uuid.UUID]:
        return [self.id("member", n) for n, (_, t) in enumerate(v.MEMBERS) if t == team]

    def accounts(self) -> list[tuple]:
        rng, rows, names = self.rng, [], set()
        sales = self.staff("sales")
        countries = list(v.COUNTRY_WEIGHTS)
        weights = list(v.COUNTRY_WEIGHTS.values())
        for n in range(COUNTS["accounts"]):
            while True:
                name = f"{rng.choice(v.COMPANY_WORDS)} {rng.choice(v.COMPANY_WORDS)} {rng.choice(v.COMPANY_SUFFIXES)}"
                if name not in names:
                    names.add(name)
                    break
            country = rng.choices(countries, weights)[0]
            tld = v.COUNTRIES[country][1]
            domain = "".join(c for c in name.lower() if c.isalnum())[:40] + "." + tld
            employees = int(rng.lognormvariate(5, 1.4)) + 2
            revenue = Decimal(employees * rng.randint(20_000, 90_000)).quantize(Decimal("1.00"))
            parent = self.id("account", rng.randrange(n)) if n > 10 and rng.random() < 0.2 else None
            created = self.before_now(700, 900)
            tier = "enterprise" if employees > 1000 else "mid-market" if employees > 200 else "smb"
            rows.append(
                (
                    self.ws,
                    self.id("account", n),
                    name,
                    domain,
                    rng.choice(v.INDUSTRIES),
                    employees,
                    revenue,
                    "USD",
                    country,
                    rng.choice(sales),
                    parent,
                    {"tier": tier},
                    created,
                    created,
                )
            )
        return rows

    def contacts(self, accounts: list[tuple]) -> tuple[list[tuple], list[tuple], list[dict]]:
        rng, rows, identities, people = self.rng, [], [], []
        sales = self.staff("sales")
        for n in range(COUNTS["contacts"]):
            account = rng.choice(accounts) if rng.random() < 0.85 else None
            country = (
                account[8]
                if account
                else rng.choices(list(v.COUNTRY_WEIGHTS), list(v.COUNTRY_WEIGHTS.values()))[0]
            )
            cities, _, _, phone_prefix, digits = v.COUNTRIES[country]
            first, last = rng.choice(v.FIRST_NAMES), rng.choice(v.LAST_NAMES)
            stage = rng.choices(JOURNEY, JOURNEY_WEIGHTS)[0]
            lifecycle = rng.choice(LIFECYCLES[stage])
            rating = None if rng.random() < 0.3 else rng.choice(("HOT", "WARM", "COLD", "JUNK"))
            created = self.before_now(30, 540)
            cid = self.id("contact", n)
            custom = {
                "plan": rng.choice(("free", "starter", "pro", "enterprise")),
                "newsletter": rng.random() < 0.6,
                "language": "id" if country == "ID" else "en",
            }
            rows.append(
                (
                    self.ws,
                    cid,
                    first,
                    last,
                    rng.choice(v.TITLES),
                    country,
                    rng.choice(cities),
                    account[1] if account else None,
                    lifecycle,
                    rating,
                    stage,
                    rng.choice(sales),
                    custom,
                    created,
                    created,
                )
            )
            local = f"{first}.{last}{n}".lower().replace(" ", "")
            domain = (
                account[3] if account else rng.choice(("gmail.com", "yahoo.co.id", "outlook.com"))
            )
            emails = [f"{local}@{domain}"] + (
                [f"{local}@gmail.com"] if account and rng.random() < 0.3 else []
            )
            for position, email in enumerate(emails):
                identities.append(
                    (self.ws, "EMAIL", "", email, cid, position == 0, position, created)
                )
            if rng.random() < 0.7:
                number = f"{phone_prefix}{n:0{digits}d}"
                identities.append((self.ws, "PHONE", "", number, cid, True, 0, created))
            if rng.random() < 0.15:
                identities.append(
                    (self.ws, "EXTERNAL", "intercom", f"usr_{cid.hex[:12]}", cid, False, 0, created)
                )
            people.append(
                {
                    "id": cid,
                    "account": account[1] if account else None,
                    "stage": stage,
                    "created": created,
                }
            )
        return rows, identities, people

    def interactions(self, people: list[dict]) -> list[tuple]:
        rng, rows = self.rng, []
        total = COUNTS["interactions"]
        # deeper journeys have more touchpoints; everyone has at least one
        weights = [1 + JOURNEY.index(p["stage"]) for p in people]
        counts = [1] * len(people)
        for i in rng.choices(range(len(people)), weights, k=total - len(people)):
            counts[i] += 1
        n = 0
        for person, count in zip(people, counts, strict=True):
            span = (self.now - person["created"]).total_seconds()
            times = sorted(
                person["created"] + timedelta(seconds=rng.uniform(3600, span)) for _ in range(count)
            )
            reached = JOURNEY.index(person["stage"]) + 1
            for k, occurred in enumerate(times):
                stage = JOURNEY[min(reached - 1, k * reached // count)]
                channel, kind, summary = rng.choice(v.TOUCHES[stage])
                if k == count - 1:
                    stage = person["stage"]  # the last touch is where the contact now stands
                page = rng.choice(v.PAGES)
                source = v.SOURCES[channel]
                utm = (
                    (source, "cpc" if channel == "AD" else channel.lower(), rng.choice(v.CAMPAIGNS))
                    if channel in ("WEB", "AD", "EMAIL")
                    else (None, None, None)
                )
                sentiment = (
                    Decimal(str(round(rng.uniform(-0.6, 1), 3)))
                    if channel in CONVERSATIONAL
                    else None
                )
                rows.append(
                    (
                        self.ws,
                        self.id("interaction", n),
                        person["id"],
                        person["account"],
                        channel,
                        kind,
                        occurred,
                        stage,
                        sentiment,
                        summary.format(page=page),
                        source,
                        f"{source}-{n}",
                        *utm,
                        {"url": page} if channel == "WEB" else {},
                        occurred,
                    )
                )
                n += 1
        return rows

    def deals(
        self, stages: list[asyncpg.Record], pipeline_id: uuid.UUID, people: list[dict]
    ) -> tuple[list, list, list]:
        rng, deals, links, changes = self.rng, [], [], []
        by_account: dict[uuid.UUID, list[uuid.UUID]] = {}
        for p in people:
            if p["account"]:
                by_account.setdefault(p["account"], []).append(p["id"])
        accounts = list(by_account)  # generation order: the same in every workspace
        opens = [s for s in stages if s["status"] == "OPEN"]
        won = next(s for s in stages if s["status"] == "WON")
        lost = next(s for s in stages if s["status"] == "LOST")
        for n in range(COUNTS["deals"]):
            did = self.id("deal", n)
            account = rng.choice(accounts)
            stage = stages[n % len(stages)]  # every stage is well represented
            created = self.before_now(20, 360)
            path = list(opens[: stage["position"] + 1]) if stage["status"] == "OPEN" else []
            if stage is won:
                path = [*opens, won]
            elif stage is lost:
                path = [*opens[: rng.randint(1, len(opens))], lost]
            # days between moves, scaled to fit between creation and now: strictly increasing
            gaps = [rng.uniform(2, 20) for _ in path[1:]]
            room = (self.now - created).total_seconds() / 86400 - 0.1
            scale = min(1.0, room / sum(gaps)) if gaps else 1.0
            at = created
            previous = None
            for m, step in enumerate(path):
                if m:
                    at += timedelta(days=gaps[m - 1] * scale)
                changes.append(
                    (
                        self.ws,
                        self.id("stage-change", n * 10 + m),
                        did,
                        previous,
                        step["id"],
                        at,
                        None,
                    )
                )
                previous = step["id"]
            closed = at if stage["status"] != "OPEN" else None
            currency = rng.choice(("USD", "USD", "SGD", "EUR", "IDR"))
            amount = Decimal(rng.randint(500, 500_000)) * (15_000 if currency == "IDR" else 1)
            amount = (amount + Decimal(rng.randint(0, 99)) / 100).quantize(Decimal("1.00"))
            expected = (created + timedelta(days=rng.randint(30, 150))).date()
            deals.append(
                (
                    self.ws,
                    did,
                    f"{rng.choice(('Annual', 'Pilot', 'Expansion', 'Renewal', 'Rollout'))} {rng.choice(v.PAGES[1:4]).strip('/').title()} #{n + 1}",
                    account,
                    pipeline_id,
                    stage["id"],
                    amount,
                    currency,
                    expected,
                    rng.choice(v.LOST_REASONS) if stage is lost else None,
                    self.id("member", rng.randrange(6)),
                    closed,
                    created,
                    closed or created,
                )
            )
            contacts = by_account[account]
            for m, contact in enumerate(
                rng.sample(contacts, min(len(contacts), rng.randint(1, 3)))
            ):
                role = ("DECISION_MAKER", "CHAMPION", "INFLUENCER", "USER")[
                    m if m < 2 else rng.randint(2, 3)
                ]
                links.append((self.ws, did, contact, role, created))
        members = {d[1]: d[10] for d in deals}
        changes = [(*c[:6], members[c[2]]) for c in changes]
        return deals, links, changes

    def cases(self, people: list[dict]) -> list[tuple]:
        rng, rows = self.rng, []
        support = self.staff("support")
        channels = ("EMAIL", "CHAT", "WHATSAPP", "PHONE", "WEB", "SOCIAL")
        for n in range(COUNTS["cases"]):
            person = rng.choice(people)
            priority = rng.choices(("LOW", "NORMAL", "HIGH", "URGENT"), (25, 45, 20, 10))[0]
            status = rng.choices(
                ("NEW", "OPEN", "PENDING", "RESOLVED", "CLOSED"), (10, 15, 10, 30, 35)
            )[0]
            created = self.before_now(0.2, 180)
            first = None if status == "NEW" else created + timedelta(hours=rng.uniform(0.1, 30))
            resolved = (
                created + timedelta(hours=rng.uniform(2, 120))
                if status in ("RESOLVED", "CLOSED")
                else None
            )
            resolved = min(resolved, self.now) if resolved else None
            first = min(first, resolved or self.now) if first else None
            csat = rng.randint(1, 5) if resolved and rng.random() < 0.6 else None
            rows.append(
                (
                    self.ws,
                    self.id("case", n),
                    rng.choice(v.CASE_SUBJECTS),
                    "Reported by the customer.",
                    person["id"],
                    person["account"],
                    status,
                    priority,
                    rng.choice(channels),
                    created + timedelta(hours=SLA_HOURS[priority]),
                    first,
                    resolved,
                    csat,
                    rng.choice(support),
                    created,
                    resolved or first or created,
                )
            )
        return rows


async def seed_demo(
    conn: asyncpg.Connection,
    workspace_id: uuid.UUID,
    *,
    seed: int = 7,
    now: datetime | None = None,
    fresh_statistics: bool = True,
) -> dict[str, int]:
    """Fill a freshly created workspace (with its default pipeline) with the demo data set,
    then analyze the tables it filled, so it is planned well from its first request.
    `fresh_statistics=False` leaves the ANALYZE out: what any bulk load looks like until
    autovacuum gets to it (the row-security plan test needs that state)."""
    now = now or datetime.combine(date.today(), datetime.min.time(), UTC)
    demo = _Demo(workspace_id, seed, now)
    await use_workspace(conn, workspace_id, local=False)  # until conn goes back to its pool
    pipeline = await conn.fetchrow(
        "SELECT id FROM pipelines WHERE workspace_id = $1 AND is_default", workspace_id
    )
    stages = await conn.fetch(
        "SELECT id, position, status FROM pipeline_stages WHERE workspace_id = $1 AND pipeline_id = $2 ORDER BY position",
        workspace_id,
        pipeline["id"],
    )
    members = demo.members()
    accounts = demo.accounts()
    contacts, identities, people = demo.contacts(accounts)
    interactions = demo.interactions(people)
    deals, deal_contacts, changes = demo.deals(stages, pipeline["id"], people)
    cases = demo.cases(people)
    tables: list[tuple[str, tuple[str, ...], list[tuple]]] = [
        ("members", COLUMNS["members"], members),
        ("accounts", COLUMNS["accounts"], accounts),
        ("contacts", COLUMNS["contacts"], contacts),
        ("contact_identities", COLUMNS["contact_identities"], identities),
        ("interactions", COLUMNS["interactions"], interactions),
        ("deals", COLUMNS["deals"], deals),
        ("deal_contacts", COLUMNS["deal_contacts"], deal_contacts),
        ("deal_stage_changes", COLUMNS["deal_stage_changes"], changes),
        ("cases", COLUMNS["cases"], cases),
    ]
    # binary COPY needs asyncpg's own jsonb codec (it takes JSON text), not the pool's
    await conn.reset_type_codec("jsonb", schema="pg_catalog")
    try:
        async with conn.transaction():
            for table, columns, rows in tables:
                await conn.copy_records_to_table(
                    table, records=[_json_text(r) for r in rows], columns=columns
                )
            # the timeline events the API would have recorded along the way
            await conn.execute("SELECT relasi_derive_timeline($1)", workspace_id)
    finally:
        await init_connection(conn)
    if fresh_statistics:
        await analyze(conn, [table for table, _, _ in tables] + ["timeline_events"])
    return {table: len(rows) for table, _, rows in tables}


def _json_text(row: tuple) -> tuple:
    return tuple(json.dumps(value) if isinstance(value, dict) else value for value in row)
