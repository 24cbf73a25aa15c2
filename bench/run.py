"""Seed a large help desk and time the agent workspace's pages against it (p95 target 50 ms).

    .venv/bin/python bench/run.py [--cases 1000000] [--db sqlite|postgresql] [--db-url URL]
                                  [--requests 200] [--keep PATH] [--only NAME] [--explain]

The seeded database is cached (SQLite: bench/.data/, keyed by the case count and a hash of the
schema and of this generator), so a second run goes straight to measuring. Seeding writes
through SQLAlchemy Core-compiled statements with DBAPI executemany (SQLite) or COPY (PostgreSQL),
never through the services: a million cases would take hours that way.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import html
import json
import math
import os
import random
import re
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402
from sqlalchemy.schema import CreateIndex, CreateTable  # noqa: E402

# Bump when the generated data changes, so cached databases are seeded again.
GENERATOR_VERSION = "3"
DATA_DIR = Path(__file__).resolve().parent / ".data"
RESULTS_DIR = Path(__file__).resolve().parent / "results"
TARGET_P95_MS = 50.0
PASSWORD = "bench-password"
BENCH_EMAIL = "bench.agent@example.com"
CHUNK = 10_000  # cases per generated chunk (and about the executemany batch size)

N_ORGS, N_CONTACTS, N_AGENTS, N_GROUPS, N_TAGS = 20, 5_000, 30, 6, 50
YEARS = 3

GROUP_NAMES = ["First line", "Billing", "Hardware", "Network", "Accounts", "Escalations"]
GROUP_WEIGHTS = [30, 22, 16, 13, 11, 8]
TAG_NAMES = [
    "vip", "billing", "refund", "printer", "vpn", "email", "password", "outage", "hardware", "laptop",
    "onboarding", "offboarding", "invoice", "license", "wifi", "phone", "monitor", "backup", "security",
    "phishing", "access", "sso", "mfa", "crm", "erp", "payroll", "shipping", "warranty", "rma", "upgrade",
    "migration", "api", "integration", "mobile", "portal", "chat", "feedback", "feature-request", "bug",
    "regression", "performance", "slow", "timeout", "dns", "certificate", "firewall", "storage", "quota",
    "training", "urgent-followup",
]
SUBJECTS = [
    "Printer on the {floor} floor is jammed again", "Cannot print to the {floor} floor printer",
    "Cannot log in to the portal", "Password reset link expired", "VPN disconnects every few minutes",
    "Invoice {n} shows the wrong amount", "Refund for order {n}", "Laptop will not boot after update",
    "Email stuck in outbox", "Request access to the shared drive", "New starter next Monday: accounts needed",
    "Monitor flickers", "Wi-Fi drops in meeting room {n}", "Licence renewal for {n} seats",
    "Two-factor codes not arriving", "Cannot open attachments", "Slow response from the CRM",
    "Shipment {n} has not arrived", "Warranty claim for serial {n}", "Phone extension {n} has no dial tone",
    "Backup failed last night", "Certificate warning on the intranet", "Feature request: export to CSV",
    "Bug: totals do not add up on report {n}", "Calendar invites arrive twice", "Upgrade to the new plan",
    "Question about my last bill", "Account locked after several attempts", "Data migration status",
    "API returns 500 on /orders", "Mobile app crashes on start", "Chat widget does not load",
]
FLOORS = ["first", "second", "third", "fourth", "fifth"]
BODIES = [
    "Hello, since this morning it does not work at all. Could you have a look? Thanks.",
    "It happened again today around ten. Nothing changed on our side as far as I know.",
    "Please see the details below. We need this fixed before the end of the week.",
    "Thanks for your quick answer, I tried that but the problem is still there.",
    "Several colleagues report the same thing. It is blocking our work.",
]
REPLIES = [
    "Thanks for reporting this. I have reset it on our side; please try again and let us know.",
    "We are looking into it and will come back to you within the day.",
    "This should be fixed now. I am setting the case to waiting for your confirmation.",
    "Could you send us a screenshot and the exact time it happened?",
]
NOTES = [
    "Checked the logs: same error as last week. Escalating to second line.",
    "Customer called, confirmed the workaround helps for now.",
    "Vendor ticket opened, waiting for their answer.",
]
OPEN_STATUSES = (["new", "assigned", "open", "wait_customer", "wait_third_party"], [15, 20, 30, 25, 10])
PRIORITIES = ([1, 2, 3, 4], [20, 55, 20, 5])
CHANNELS = (["email", "portal", "chat", "phone", "api", "web"], [50, 20, 10, 10, 5, 5])
CHANNEL_LABELS = {"email": "Email", "portal": "Portal", "chat": "Chat", "phone": "Phone", "api": "API", "web": "Agent"}


# --- the data -----------------------------------------------------------------------------


@dataclass
class World:
    """The small tables, as the generator needs them."""

    now: float
    contact_org: list[int | None]  # index = contact id
    group_members: dict[int, list[int]]
    agent_ids: list[int]


def _cum(weights):
    out, total = [], 0
    for w in weights:
        total += w
        out.append(total)
    return out


class Generator:
    """Cases with their messages, activities and tags, chunk by chunk, deterministic for a seed."""

    def __init__(self, n: int, world: World, ts, seed: int = 20240601):
        self.n, self.world, self.ts = n, world, ts
        self.rnd = random.Random(seed)
        self.start = world.now - YEARS * 365 * 86400
        self.span = world.now - self.start
        self.message_id = 0
        self.activity_id = 0

    def chunks(self):
        for first in range(1, self.n + 1, CHUNK):
            yield self.chunk(first, min(first + CHUNK, self.n + 1))

    def chunk(self, first: int, stop: int) -> dict[str, list[tuple]]:
        rnd, ts, w = self.rnd, self.ts, self.world
        random_, choices, expo = rnd.random, rnd.choices, rnd.expovariate
        n, start, span, now = self.n, self.start, self.span, self.world.now
        group_cum, prio_cum, chan_cum, open_cum = (_cum(GROUP_WEIGHTS), _cum(PRIORITIES[1]), _cum(CHANNELS[1]),
                                                  _cum(OPEN_STATUSES[1]))
        groups = list(range(1, N_GROUPS + 1))
        cases, messages, activities, tags = [], [], [], []
        for cid in range(first, stop):
            created = start + (cid - 1 + random_()) * span / n
            age = 1.0 - cid / n
            is_open = random_() < 0.9 * math.exp(-6.0 * age)
            priority = choices(PRIORITIES[0], cum_weights=prio_cum)[0]
            channel = choices(CHANNELS[0], cum_weights=chan_cum)[0]
            contact_id = None if channel == "web" and random_() < 0.5 else int(N_CONTACTS * random_() ** 2) + 1
            org_id = w.contact_org[contact_id] if contact_id else None
            group_id = None if random_() < 0.05 else choices(groups, cum_weights=group_cum)[0]
            members = w.group_members[group_id] if group_id else w.agent_ids
            first_response = resolved = closed = None
            if is_open:
                status = choices(OPEN_STATUSES[0], cum_weights=open_cum)[0]
                updated = created + (now - created) * random_() ** 0.3
                if status == "new" or (status != "assigned" and random_() < 0.1):
                    assignee = None
                else:
                    assignee = members[int(random_() * len(members))]
                if status != "new":
                    first_response = min(created + expo(1 / 14400), updated)
            else:
                assignee = None if random_() < 0.03 else members[int(random_() * len(members))]
                updated = min(created + 3600 + expo(1 / 259200), now)
                first_response = min(created + expo(1 / 14400), updated)
                resolved = max(updated - expo(1 / 86400), first_response)
                if age < 0.01 and random_() < 0.6:
                    status = "resolved"
                else:
                    status, closed = "closed", updated
            subject = SUBJECTS[int(random_() * len(SUBJECTS))].format(
                floor=FLOORS[int(random_() * 5)], n=int(random_() * 9000) + 1000)
            cases.append((
                cid, f"CS-{cid}", subject, status, is_open, priority, channel, contact_id, org_id, group_id,
                assignee, "{}", None, ts(created), ts(updated), ts(first_response) if first_response else None,
                ts(resolved) if resolved else None, ts(closed) if closed else None, None, 1,
            ))

            # The conversation: the customer's problem, an answer, sometimes a note.
            self.message_id += 1
            body = BODIES[int(random_() * len(BODIES))]
            email_id = f"<{cid}.{int(random_() * 1e9)}@mail.example.net>" if channel == "email" and contact_id else None
            if contact_id:
                messages.append((self.message_id, cid, "customer", None, contact_id, channel, f"<p>{body}</p>", body,
                                 email_id, None, None, ts(created)))
            else:
                messages.append((self.message_id, cid, "note", assignee or members[0], None, channel,
                                 f"<p>{body}</p>", body, None, None, None, ts(created)))
            responder = assignee or members[int(random_() * len(members))]
            if first_response is not None:
                self.message_id += 1
                body = REPLIES[int(random_() * len(REPLIES))]
                messages.append((self.message_id, cid, "reply", responder, None, "web", f"<p>{body}</p>", body,
                                 f"<reply.{self.message_id}@helpdesk.example.com>", email_id, email_id,
                                 ts(first_response)))
                if random_() < 0.35:
                    self.message_id += 1
                    body = NOTES[int(random_() * len(NOTES))]
                    at = first_response + (updated - first_response) * random_()
                    messages.append((self.message_id, cid, "note", responder, None, "web", f"<p>{body}</p>", body,
                                     None, None, None, ts(at)))

            # The history: opened, then a few changes on some.
            self.activity_id += 1
            activities.append((self.activity_id, cid, None if contact_id else responder, contact_id, "opened", None,
                               None, None, f"via {CHANNEL_LABELS[channel]}", 1, ts(created)))
            if assignee is not None and random_() < 0.5:
                self.activity_id += 1
                activities.append((self.activity_id, cid, responder, None, "changed", "assignee", None,
                                   f"Agent {assignee:02d}", None, 1, ts(created + 60)))
            if first_response is not None:
                self.activity_id += 1
                activities.append((self.activity_id, cid, responder, None, "replied", None, None, None, None, 1,
                                   ts(first_response)))
            if resolved is not None:
                self.activity_id += 1
                activities.append((self.activity_id, cid, responder, None, "changed", "status", "open", "resolved",
                                   None, 1, ts(resolved)))
            if closed is not None:
                self.activity_id += 1
                activities.append((self.activity_id, cid, None, None, "changed", "status", "resolved", "closed",
                                   "closed automatically", 1, ts(closed)))

            if random_() < 0.2:
                first_tag = int(N_TAGS * random_() ** 2) + 1
                tags.append((cid, first_tag))
                if random_() < 0.3:
                    second = int(N_TAGS * random_() ** 2) + 1
                    if second != first_tag:
                        tags.append((cid, second))
        return {"cases": cases, "messages": messages, "activities": activities, "case_tags": tags}


# Column order of the generated tuples; columns left out must be nullable.
BIG_COLUMNS = {
    "cases": ["id", "number", "subject", "status", "is_open", "priority", "channel", "contact_id", "organization_id",
              "group_id", "assignee_id", "custom_fields", "merged_into_id", "created_at", "updated_at",
              "first_response_at", "resolved_at", "closed_at", "deleted_at", "version"],
    "messages": ["id", "case_id", "kind", "author_user_id", "author_contact_id", "channel", "body_html", "body_text",
                 "email_message_id", "in_reply_to", "references", "created_at"],
    "activities": ["id", "case_id", "actor_user_id", "actor_contact_id", "action", "field", "old", "new", "reason",
                   "case_version", "created_at"],
    "case_tags": ["case_id", "tag_id"],
}


def small_tables(now: datetime, password_hash: str) -> tuple[dict[str, list[dict]], World]:
    rnd = random.Random(7)
    since = now - timedelta(days=YEARS * 365 + 30)
    orgs = [dict(id=i, name=f"Organization {i:02d}", domain=f"org{i:02d}.example.com", phone=f"+1 555 01{i:02d}",
                 created_at=since) for i in range(1, N_ORGS + 1)]
    contact_org: list[int | None] = [None]
    contacts = []
    for i in range(1, N_CONTACTS + 1):
        org = rnd.randint(1, N_ORGS) if rnd.random() < 0.8 else None
        contact_org.append(org)
        domain = f"org{org:02d}.example.com" if org else "mail.example.net"
        contacts.append(dict(id=i, name=f"Contact {i:04d}", email=f"contact{i:04d}@{domain}", phone=None,
                             organization_id=org, created_at=since))
    groups = [dict(id=i, name=name, description="", created_at=since) for i, name in enumerate(GROUP_NAMES, 1)]
    users, memberships, group_members = [], [], {g: [] for g in range(1, N_GROUPS + 1)}
    for i in range(1, N_AGENTS + 1):
        home = (i - 1) % N_GROUPS + 1
        in_groups = [home]
        if i == 1 or i % 5 == 0:  # the bench agent (id 1) and every fifth agent are in two groups
            in_groups.append(home % N_GROUPS + 1)
        for g in in_groups:
            memberships.append(dict(user_id=i, group_id=g))
            group_members[g].append(i)
        users.append(dict(id=i, email=BENCH_EMAIL if i == 1 else f"agent{i:02d}@helpdesk.example.com",
                          name="Bench Agent" if i == 1 else f"Agent {i:02d}", password_hash=password_hash,
                          role="agent", active=True, session_token=f"{rnd.getrandbits(128):032x}",
                          created_at=since, last_login_at=None))
    tags = [dict(id=i, name=name) for i, name in enumerate(TAG_NAMES, 1)]
    rows = {"organizations": orgs, "contacts": contacts, "groups": groups, "users": users,
            "user_groups": memberships, "tags": tags}
    return rows, World(now.timestamp(), contact_org, group_members, list(range(1, N_AGENTS + 1)))


# --- seeding ------------------------------------------------------------------------------


def bench_app(url: str, instance: str):
    from helpdesk import create_app

    engine_options = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        engine_options["connect_args"] = {"factory": _TimedSQLiteConnection}
    return create_app({
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        "ENV": "testing", "TESTING": True, "SECRET_KEY": "bench-secret", "WTF_CSRF_ENABLED": False,
        "SQLALCHEMY_DATABASE_URI": url, "EDGE_PACKAGES": [], "REDIS_URL": None, "SMTP_HOST": None,
        "INSTANCE_PATH": instance, "ATTACHMENT_DIR": os.path.join(instance, "attachments"),
        "OUTBOX_DIR": os.path.join(instance, "outbox"), "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    })


def schema_key(metadata, dialect, n: int) -> str:
    parts = [GENERATOR_VERSION, str(n)]
    for table in metadata.sorted_tables:
        parts.append(str(CreateTable(table).compile(dialect=dialect)))
        parts += sorted(str(CreateIndex(ix).compile(dialect=dialect)) for ix in table.indexes)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


def read_meta(engine) -> dict:
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("bench_meta"):
            return {}
        return dict(conn.exec_driver_sql("SELECT key, value FROM bench_meta").all())


def seed(app, n: int, key: str) -> float:
    """Create the schema from the app's models and load n cases; returns the seconds it took."""
    from helpdesk.extensions import db
    from werkzeug.security import generate_password_hash

    started = time.perf_counter()
    with app.app_context():
        engine = db.engine
        metadata = db.metadata
        dialect = engine.dialect.name
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS bench_meta")
        metadata.drop_all(engine)
        metadata.create_all(engine)
        with engine.begin() as conn:
            # Marks the database as ours at once, so a seed that was cut short is redone, not refused.
            conn.exec_driver_sql("CREATE TABLE bench_meta (key VARCHAR(100) PRIMARY KEY, value TEXT)")
            conn.exec_driver_sql("INSERT INTO bench_meta (key, value) VALUES ('key', 'incomplete')")
        db.session.remove()
        engine.dispose()  # the load switches SQLite's journal mode, which needs the only connection
    url = engine.url
    now = datetime.now(timezone.utc).replace(microsecond=0)
    rows, world = small_tables(now, generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000"))
    load_engine = sa.create_engine(url, poolclass=NullPool)
    big = [metadata.tables[name] for name in BIG_COLUMNS]
    _check_columns(metadata)
    with load_engine.begin() as conn:
        for name, table_rows in rows.items():
            conn.execute(metadata.tables[name].insert(), table_rows)
    # Indexes are built once after the load: much faster than keeping them up to date row by row.
    dropped = [ix for table in big for ix in table.indexes]
    with load_engine.begin() as conn:
        for ix in dropped:
            ix.drop(conn)
    loader = _load_sqlite if dialect == "sqlite" else _load_postgresql
    counts = loader(load_engine, metadata, n, world)
    t_index = time.perf_counter()
    with load_engine.begin() as conn:
        if dialect == "postgresql":
            conn.exec_driver_sql("SET maintenance_work_mem = '1GB'")
        for ix in dropped:
            ix.create(conn)
    print(f"  indexes built in {time.perf_counter() - t_index:.1f} s", flush=True)
    t_analyze = time.perf_counter()
    _finish(load_engine, metadata, dialect, key, n, now)
    print(f"  analyzed in {time.perf_counter() - t_analyze:.1f} s", flush=True)
    load_engine.dispose()
    print("  rows: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()), flush=True)
    return time.perf_counter() - started


def _check_columns(metadata) -> None:
    for name, cols in BIG_COLUMNS.items():
        table = metadata.tables[name]
        unknown = set(cols) - set(table.c.keys())
        missing = [c for c in table.c if c.key not in cols and not c.nullable and c.server_default is None]
        if unknown or missing:
            raise SystemExit(f"bench generator is out of date for table {name}: unknown columns {sorted(unknown)}, "
                             f"required columns not generated {[c.key for c in missing]}")


def _progress(done: int, n: int, started: float) -> None:
    if done % (CHUNK * 20) == 0 or done == n:
        rate = done / max(time.perf_counter() - started, 1e-9)
        print(f"  {done:,}/{n:,} cases ({rate:,.0f} cases/s)", flush=True)


def _load_sqlite(engine, metadata, n: int, world: World) -> dict:
    def ts(x: float) -> str:
        # SQLAlchemy's SQLite DATETIME storage format; checked against it below.
        return (EPOCH_NAIVE + timedelta(seconds=x)).isoformat(" ", "microseconds")

    sample = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone.utc)
    column_type = metadata.tables["cases"].c.created_at.type
    expected = column_type._cached_bind_processor(engine.dialect)(sample)
    if ts(sample.timestamp()) != expected:
        raise SystemExit(f"SQLite datetime format changed: {expected!r} != {ts(sample.timestamp())!r}")

    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-1000000", "foreign_keys=OFF",
                       "temp_store=MEMORY"):
            cur.execute(f"PRAGMA {pragma}")
        inserts = {name: str(metadata.tables[name].insert().compile(dialect=engine.dialect, column_keys=cols))
                   for name, cols in BIG_COLUMNS.items()}
        counts = dict.fromkeys(BIG_COLUMNS, 0)
        started = time.perf_counter()
        cur.execute("BEGIN")
        for i, chunk in enumerate(Generator(n, world, ts).chunks(), 1):
            for name, table_rows in chunk.items():
                cur.executemany(inserts[name], table_rows)
                counts[name] += len(table_rows)
            _progress(min(i * CHUNK, n), n, started)
        cur.execute("COMMIT")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.close()
    finally:
        raw.close()
    return counts


def _load_postgresql(engine, metadata, n: int, world: World) -> dict:
    def ts(x: float) -> datetime:
        return EPOCH_UTC + timedelta(seconds=x)

    raw = engine.raw_connection()
    try:
        pg = raw.driver_connection
        quote = engine.dialect.identifier_preparer.quote
        copies = {name: f"COPY {quote(name)} ({', '.join(quote(c) for c in cols)}) FROM STDIN"
                  for name, cols in BIG_COLUMNS.items()}
        counts = dict.fromkeys(BIG_COLUMNS, 0)
        started = time.perf_counter()
        with pg.cursor() as cur:
            cur.execute("SET TIME ZONE 'UTC'")
            # Skip the per-row foreign-key triggers (the generator keeps the references whole);
            # only a superuser may, and a failed SET would abort the transaction.
            cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            if cur.fetchone()[0]:
                cur.execute("SET session_replication_role = replica")
            for i, chunk in enumerate(Generator(n, world, ts).chunks(), 1):
                for name, table_rows in chunk.items():
                    with cur.copy(copies[name]) as copy:
                        for row in table_rows:
                            copy.write_row(row)
                    counts[name] += len(table_rows)
                _progress(min(i * CHUNK, n), n, started)
        pg.commit()
    finally:
        raw.close()
    return counts


def _finish(engine, metadata, dialect: str, key: str, n: int, now: datetime) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM bench_meta")
        for k, v in {"key": key, "cases": str(n), "now": now.isoformat()}.items():
            conn.execute(sa.text("INSERT INTO bench_meta (key, value) VALUES (:k, :v)"), {"k": k, "v": v})
        if dialect == "postgresql":
            for table in metadata.sorted_tables:
                if "id" in table.c and isinstance(table.c.id.type, sa.Integer) and table.c.id.autoincrement:
                    conn.execute(sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"(SELECT coalesce(max(id), 0) + 1 FROM {table.name}), false)"))
    if dialect == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


EPOCH_NAIVE = datetime(1970, 1, 1)
EPOCH_UTC = datetime(1970, 1, 1, tzinfo=timezone.utc)


# --- measuring ----------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    url: str
    times: list[float] = field(default_factory=list)
    sql_times: list[float] = field(default_factory=list)
    sql_counts: list[int] = field(default_factory=list)
    cpu_times: list[float] = field(default_factory=list)
    # The costliest run of each distinct statement: {statement: (seconds, parameters)}
    statements: dict[str, tuple[float, object]] = field(default_factory=dict)

    def pct(self, values, q: float) -> float:
        ordered = sorted(values)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000

    @property
    def p95(self) -> float:
        return self.pct(self.times, 0.95)


class SqlTimer:
    """Time spent in the database per request, statement by statement.

    sqlite3 computes rows while they are fetched, not in execute(), so on SQLite each cursor
    times itself (see _TimedSQLiteCursor); psycopg has every row once execute() returns.
    """

    def __init__(self, engine):
        self.sqlite = engine.dialect.name == "sqlite"
        self.reset()
        sa.event.listen(engine, "before_cursor_execute", self.before)
        sa.event.listen(engine, "after_cursor_execute", self.after)

    def reset(self):
        self.statements: list[list] = []  # [seconds or cursor, statement, parameters]
        _SQLITE_CLOCK[0] = 0.0
        self._start = 0.0

    def before(self, conn, cursor, statement, parameters, context, executemany):
        self._start = time.perf_counter()

    def after(self, conn, cursor, statement, parameters, context, executemany):
        if self.sqlite and isinstance(cursor, _TimedSQLiteCursor):
            self.statements.append([cursor, statement, parameters])
        else:
            self.statements.append([time.perf_counter() - self._start, statement, parameters])

    @property
    def seconds(self) -> float:
        return _SQLITE_CLOCK[0] if self.sqlite else sum(c[0] for c in self.costs())

    @property
    def count(self) -> int:
        return len(self.statements)

    def costs(self):
        return [(s[0].spent if isinstance(s[0], _TimedSQLiteCursor) else s[0], s[1], s[2]) for s in self.statements]


_SQLITE_CLOCK = [0.0]


class _TimedSQLiteCursor(sqlite3.Cursor):
    """A cursor that adds the time of its calls to its own total and to the global clock."""

    def __init__(self, *args):
        super().__init__(*args)
        self.spent = 0.0

    def _timed(self, method, *args):
        started = time.perf_counter()
        try:
            return method(self, *args)
        finally:
            took = time.perf_counter() - started
            _SQLITE_CLOCK[0] += took
            self.spent += took

    def execute(self, *args):
        return self._timed(sqlite3.Cursor.execute, *args)

    def executemany(self, *args):
        return self._timed(sqlite3.Cursor.executemany, *args)

    def fetchone(self):
        return self._timed(sqlite3.Cursor.fetchone)

    def fetchmany(self, *args):
        return self._timed(sqlite3.Cursor.fetchmany, *args)

    def fetchall(self):
        return self._timed(sqlite3.Cursor.fetchall)


class _TimedSQLiteConnection(sqlite3.Connection):
    def cursor(self, factory=_TimedSQLiteCursor):
        return super().cursor(factory)


HTMX_LIST = {"HX-Request": "true", "HX-Target": "case-list"}


def scenarios(n: int, seed: int = 99):
    """(name, list of (url, headers)) — a request cycles through its list."""
    rnd = random.Random(seed)
    agents = list(range(1, N_AGENTS + 1))
    return [
        ("queue=mine", [("/cases?queue=mine", {})]),
        ("queue=open", [("/cases?queue=open", {})]),
        ("queue=unassigned", [("/cases?queue=unassigned", {})]),
        ("queue=groups", [("/cases?queue=groups", {})]),
        ("queue=recent", [("/cases?queue=recent", {})]),
        ("open+status=open", [("/cases?queue=open&status=open", {})]),
        ("open+priority=4", [("/cases?queue=open&priority=4", {})]),
        ("open+group=ID", [(f"/cases?queue=open&group={g}", {}) for g in range(1, N_GROUPS + 1)]),
        ("recent+group=ID", [(f"/cases?queue=recent&group={g}", {}) for g in range(1, N_GROUPS + 1)]),
        ("recent+assignee=ID", [(f"/cases?queue=recent&assignee={a}", {}) for a in agents]),
        ("open+tag=NAME", [(f"/cases?queue=open&tag={t}", {}) for t in TAG_NAMES]),
        ("recent+q=printer", [("/cases?queue=recent&q=printer", {})]),
        ("open+sort=priority", [("/cases?queue=open&sort=priority", {})]),
        ("recent deep page", "DEEP"),
        ("case page", [(f"/cases/{rnd.randint(1, n)}", {}) for _ in range(1000)]),
        ("htmx list partial", [("/cases?queue=open", HTMX_LIST)]),
    ]


def _next_link(body: str) -> str | None:
    match = re.search(r'<a [^>]*href="([^"]*)"[^>]*rel="next"', body)
    return html.unescape(match.group(1)) if match else None


def deep_cursor_url(client, pages: int = 200) -> tuple[str, int]:
    """The URL of the recent queue `pages` pages deep (or its last page), following the Next links."""
    url, depth = "/cases?queue=recent", 1
    while depth <= pages:
        response = client.get(url, headers=HTMX_LIST)
        _check(response, url)
        nxt = _next_link(response.get_data(as_text=True))
        if nxt is None:
            break
        cursor = parse_qs(urlsplit(nxt).query)["cursor"][0]
        url, depth = f"/cases?queue=recent&cursor={cursor}", depth + 1
    return url, depth


def _check(response, url: str) -> None:
    if response.status_code != 200:
        body = response.get_data(as_text=True)[:2000]
        raise SystemExit(f"GET {url} answered {response.status_code}, not 200:\n{body}")


def measure(app, n: int, requests: int, only: str | None, explain: bool) -> list[Result]:
    from helpdesk.extensions import db

    client = app.test_client()
    response = client.post("/login", data={"email": BENCH_EMAIL, "password": PASSWORD})
    if response.status_code != 302:
        raise SystemExit(f"could not sign in as {BENCH_EMAIL}: {response.status_code}\n"
                         f"{response.get_data(as_text=True)[:1000]}")
    with app.app_context():
        timer = SqlTimer(db.engine)
    results = []
    for name, requests_for in scenarios(n):
        if only and not any(part and part in name for part in only.split(",")):
            continue
        if requests_for == "DEEP":
            url, depth = deep_cursor_url(client)
            name, requests_for = f"recent page {depth}", [(url, {})]
        result = Result(name, requests_for[0][0])
        for i in range(10 + requests):
            url, headers = requests_for[i % len(requests_for)]
            timer.reset()
            cpu_started, started = time.thread_time(), time.perf_counter()
            response = client.get(url, headers=headers)
            took, cpu = time.perf_counter() - started, time.thread_time() - cpu_started
            _check(response, url)
            if i >= 10:
                result.times.append(took)
                result.sql_times.append(timer.seconds)
                result.cpu_times.append(cpu)
                result.sql_counts.append(timer.count)
                for cost, statement, parameters in timer.costs():
                    if cost > result.statements.get(statement, (0.0,))[0]:
                        result.statements[statement] = (cost, parameters)
        results.append(result)
        print(f"  {name:<24} p50 {result.pct(result.times, 0.5):7.1f} ms  p95 {result.p95:7.1f} ms", flush=True)
        if explain:
            with app.app_context():
                print_plan(db.engine, result)
    return results


def print_plan(engine, result: Result, top: int = 3) -> None:
    """The plans of the statements that cost the most in this scenario."""
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS) "
    worst = sorted(result.statements.items(), key=lambda item: -item[1][0])[:top]
    for statement, (took, parameters) in worst:
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute(prefix + statement, parameters)
            plan = cur.fetchall()
            raw.rollback()
        finally:
            raw.close()
        print(f"    {took * 1000:.1f} ms: {' '.join(statement.split())[:1200]}")
        print(f"      parameters: {str(parameters)[:300]}")
        for row in plan:
            print("        " + str(row[-1] if engine.dialect.name == "sqlite" else row[0]))


def print_table(results: list[Result]) -> None:
    header = (f"| {'scenario':<22} | {'n':>4} | {'p50 ms':>7} | {'p95 ms':>7} | {'max ms':>7} | {'cpu p50':>7} | "
              f"{'cpu p95':>7} | {'db p50':>7} | {'queries':>7} | {'target':>12} |")
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for r in results:
        verdict = "PASS" if r.p95 <= TARGET_P95_MS else "MISS"
        print(f"| {r.name:<22} | {len(r.times):>4} | {r.pct(r.times, .5):>7.1f} | {r.p95:>7.1f} | "
              f"{max(r.times) * 1000:>7.1f} | {r.pct(r.cpu_times, .5):>7.1f} | {r.pct(r.cpu_times, .95):>7.1f} | "
              f"{r.pct(r.sql_times, .5):>7.1f} | {sorted(r.sql_counts)[len(r.sql_counts) // 2]:>7} | "
              f"{'p95<=50 ' + verdict:>12} |")


def db_size(app) -> int:
    from helpdesk.extensions import db

    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                return conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar()
        path = engine.url.database
        return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))


def db_version(app) -> str:
    from helpdesk.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        if db.engine.dialect.name == "postgresql":
            return "PostgreSQL " + conn.exec_driver_sql("SHOW server_version").scalar()
        return "SQLite " + conn.exec_driver_sql("SELECT sqlite_version()").scalar()


# --- the command --------------------------------------------------------------------------


def run(args, url: str) -> None:
    from helpdesk.extensions import db

    with tempfile.TemporaryDirectory(prefix="helpdesk-bench-") as instance:
        app = bench_app(url, instance)
        with app.app_context():
            key = schema_key(db.metadata, db.engine.dialect, args.cases)
            meta = read_meta(db.engine)
            db.engine.dispose()
        seed_seconds = None
        if meta.get("key") == key:
            print(f"Using the seeded database ({args.cases:,} cases, key {key}, seeded {meta.get('now')}).")
        else:
            if meta:
                print("The database was seeded for another schema or size: seeding it again.")
            else:
                _refuse_foreign_database(url)
            sqlite_path = sa.engine.make_url(url).database if url.startswith("sqlite") else None
            if sqlite_path:  # a fresh file loads faster than one full of freed pages
                for suffix in ("", "-wal", "-shm"):
                    with contextlib.suppress(FileNotFoundError):
                        os.remove(sqlite_path + suffix)
            print(f"Seeding {args.cases:,} cases (key {key}) ...", flush=True)
            seed_seconds = seed(app, args.cases, key)
            print(f"Seeded in {seed_seconds:.1f} s.", flush=True)
            with app.app_context():
                db.engine.dispose()
        size = db_size(app)
        version = db_version(app)
        print(f"Measuring {args.requests} requests per scenario ({version}, database {size / 2**20:,.0f} MiB) ...",
              flush=True)
        load_before = os.getloadavg()[0]
        results = measure(app, args.cases, args.requests, args.only, args.explain)
        load = (load_before, os.getloadavg()[0])
        print()
        print(f"{args.cases:,} cases on {version}; database {size / 2**20:,.0f} MiB; "
              + (f"seeded in {seed_seconds:.0f} s" if seed_seconds is not None else "seed reused from cache")
              + f"; load average {load[0]:.1f} -> {load[1]:.1f} on {os.cpu_count()} CPUs")
        print_table(results)
        missed = [r.name for r in results if r.p95 > TARGET_P95_MS]
        print(f"{len(results) - len(missed)}/{len(results)} scenarios within p95 <= {TARGET_P95_MS:.0f} ms"
              + (f"; missed: {', '.join(missed)}" if missed else ""))
        _save(args, version, size, seed_seconds, results, load)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _save(args, version, size, seed_seconds, results, load) -> None:
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = RESULTS_DIR / f"{args.db}-{args.cases}-{stamp}.json"
    path.write_text(json.dumps({
        "cases": args.cases, "database": version, "size_bytes": size, "seed_seconds": seed_seconds,
        "load_average": load,
        "results": [{"scenario": r.name, "url": r.url, "n": len(r.times), "p50_ms": r.pct(r.times, .5),
                     "p95_ms": r.p95, "max_ms": max(r.times) * 1000, "sql_p50_ms": r.pct(r.sql_times, .5),
                     "cpu_p50_ms": r.pct(r.cpu_times, .5), "cpu_p95_ms": r.pct(r.cpu_times, .95),
                     "queries": sorted(r.sql_counts)[len(r.sql_counts) // 2]}
                    for r in results],
    }, indent=2))
    print(f"Results saved to {path.relative_to(ROOT)}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000, help="how many cases to seed (default 1,000,000)")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--db-url", help="use this database (seeded when its bench key differs) instead")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per scenario (after 10 warm-ups)")
    parser.add_argument("--keep", type=Path, help="SQLite file to seed into and reuse (default: bench/.data/)")
    parser.add_argument("--only", help="run only the scenarios whose names contain one of these (comma-separated)")
    parser.add_argument("--explain", action="store_true",
                        help="print the plans of the costliest statements of each scenario")
    args = parser.parse_args(argv)

    if args.db_url:
        args.db = "postgresql" if args.db_url.startswith("postgres") else "sqlite"
        run(args, args.db_url)
    elif args.db == "postgresql":
        from tests.postgres import private_postgres

        with private_postgres() as url:
            run(args, url)
    else:
        path = args.keep or _cached_sqlite_path(args.cases)
        path.parent.mkdir(parents=True, exist_ok=True)
        run(args, f"sqlite:///{path.resolve()}")


def _cached_sqlite_path(n: int) -> Path:
    # The key needs the app's metadata; the file name only needs the size: a stale file is re-seeded.
    return DATA_DIR / f"helpdesk-{n}.sqlite"


def _refuse_foreign_database(url: str) -> None:
    """Seeding drops every table: only do it to an empty database or one this bench seeded."""
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()
    if tables and "bench_meta" not in tables:
        raise SystemExit(f"{url} holds tables that this bench did not create; give it an empty database.")


if __name__ == "__main__":
    main()
