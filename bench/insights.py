"""Seed two years of help desk history and time the manager insights dashboards (p95 target 200 ms).

    .venv/bin/python bench/insights.py [--db sqlite|postgresql] [--db-url URL] [--cases 1000000]
                                       [--chats 200000] [--requests 100] [--only NAME] [--explain]
                                       [--no-rebuild]

The cases come from bench/run.py's generator, loaders and timers (imported, not copied), with
what insights read added to each chunk: products, SLA policies with their events (started,
paused and resumed, fulfilled, warned, breached with a reason) and the deadlines of open cases,
ratings on about a tenth of the solved cases, time logs, reopened cases, chats with their insight
columns, the self-service funnel (deflection events) and knowledge-base searches. The seeded
database is cached (SQLite: bench/.data/insights-N.sqlite) under a key made of the generator
versions, the sizes and the schema of every table except the insights' own, which are dropped,
created again and filled by the insights rebuild on every run (its time is reported).
It then signs in as a manager and times each dashboard with Flask's test client in-process.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import math
import os
import random
import re
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from html import unescape
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/ must not shadow the project's packages (bench/portal.py, ...).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.schema import CreateIndex, CreateTable  # noqa: E402

# A private copy of bench/run.py: the overrides below change this copy's generator, not the module.
_spec = importlib.util.spec_from_file_location("bench_run_insights", ROOT / "bench" / "run.py")
workspace = importlib.util.module_from_spec(_spec)
sys.modules["bench_run_insights"] = workspace
_spec.loader.exec_module(workspace)

INSIGHTS_GENERATOR_VERSION = "2"
TARGET_P95_MS = 200.0
MANAGER_EMAIL = "bench.manager@example.com"
MANAGER_ID = workspace.N_AGENTS + 1
YEARS = 2
PREMIUM_ORGS = {1, 2, 3}  # under the tighter policy
PAUSE_STATUSES = ("wait_customer", "wait_third_party")
WEEKLY = {str(d): [["08:00", "18:00"]] for d in range(5)}
TARGETS = {  # business minutes by priority: first response, next response, resolution
    1: {"standard": (480, 960, 4800), "premium": (240, 480, 2400)},
    2: {"standard": (240, 480, 2400), "premium": (120, 240, 1200)},
    3: {"standard": (120, 240, 960), "premium": (60, 120, 480)},
    4: {"standard": (60, 120, 480), "premium": (30, 60, 240)},
}
POLICIES = [(1, "Standard", "standard", True), (2, "Premium customers", "premium", False)]
PRODUCTS = [("LPR-4200", "LaserPro 4200 printer", "Printers"), ("NAS-220", "VaultBox NAS 220", "Storage"),
            ("SW-24P", "NetCore 24-port switch", "Network"), ("FW-100", "Guardian 100 firewall", "Network"),
            ("LT-14", "WorkBook 14 laptop", "Computers"), ("MON-27", "ClearView 27-inch monitor", "Displays"),
            ("CRM", "Cloud CRM subscription", "Software"), ("VPN", "Remote access VPN", "Software")]
# (id, name, group id, bot)
CHAT_TOPICS = [(1, "Technical help", 3, False), (2, "Billing and invoices", 2, False), (3, "Quick questions", 1, True)]
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 4, 8, 14, 16, 16, 14, 10, 12, 15, 15, 13, 10, 6, 4, 3, 2, 2, 1]
SEARCHES = ["reset password", "vpn", "invoice", "printer jam", "refund", "two factor", "change plan", "vpn certificate",
            "wifi", "serial number", "warranty", "cancel order", "export pdf", "email bounce", "licence", "outlook",
            "blank pages", "shared drive", "new phone", "payment methods", "delete account", "api key", "sso login",
            "invoice copy", "scanner", "backup", "vat", "upgrade", "slow", "mobile app"]
ZERO_RESULT_SEARCHES = ["kubernetes", "fax machine", "bitcoin payment", "dark mode", "linux driver", "teams integration",
                        "gdpr export", "sla credit", "on premise", "student discount"]
TIME_NOTES = ["Remote session with the customer", "Checked logs and configuration", "Phone call", "Tested the fix", ""]
RATING_COMMENTS = ["", "", "", "Quick and friendly, thanks!", "Took too long.", "Solved at once.", "Still not working."]


def _overrides() -> None:
    """Point bench/run.py's (private copy's) seeding at this file's generator and tables."""
    workspace.YEARS = YEARS
    workspace.BIG_COLUMNS = dict(workspace.BIG_COLUMNS, **EXTRA_COLUMNS,
                                 cases=workspace.BIG_COLUMNS["cases"] + CASE_EXTRA_COLUMNS)
    workspace.Generator = InsightsGenerator
    workspace.small_tables = small_tables


_base_small_tables = workspace.small_tables
CASE_EXTRA_COLUMNS = ["product_id", "sla_policy_id", "first_response_due_at", "next_response_due_at",
                      "resolution_due_at", "sla_due_at", "sla_check_at", "sla_warn_at", "sla_paused_at"]
EXTRA_COLUMNS = {
    "sla_events": ["id", "case_id", "kind", "clock", "at", "due_at", "policy_id", "reason", "data", "once_key"],
    "ratings": ["id", "case_id", "contact_id", "score", "comment", "agent_id", "group_id", "created_at", "updated_at"],
    "time_logs": ["id", "case_id", "user_id", "minutes", "billable", "note", "started_at", "stopped_at", "created_at"],
    "chat_sessions": ["id", "token", "topic_id", "group_id", "agent_id", "contact_id", "organization_id", "case_id",
                      "status", "visitor_name", "visitor_email", "last_seq", "created_at", "queued_at", "assigned_at",
                      "accepted_at", "first_response_at", "ended_at", "visitor_seen_at", "ended_by", "wait_seconds",
                      "first_response_seconds", "duration_seconds", "transfers", "missed_count", "missed", "abandoned",
                      "bot_resolved", "rating", "rating_comment", "updated_at"],
    "deflection_events": ["id", "attempt", "step", "contact_id", "article_id", "case_id", "query", "created_at"],
    "kb_search_log": ["id", "query", "language", "audience", "results", "created_at"],
}
# Which positions of each generated tuple hold instants (floats until the chunk is finished).
_TIME_FIELDS = {name: [i for i, c in enumerate(cols) if c.endswith("_at") or c == "at"]
                for name, cols in {**workspace.BIG_COLUMNS, **EXTRA_COLUMNS,
                                   "cases": workspace.BIG_COLUMNS["cases"] + CASE_EXTRA_COLUMNS}.items()}
N_ARTICLES = 40


def small_tables(now: datetime, password_hash: str):
    """bench/run.py's people, plus a manager, products, the SLA calendar and policies, chat topics, articles."""
    from knowledge_base.models import ArticleStatus, Visibility

    rows, world = _base_small_tables(now, password_hash)
    since = now - timedelta(days=YEARS * 365 + 30)
    rows["users"].append(dict(id=MANAGER_ID, email=MANAGER_EMAIL, name="Bench Manager", password_hash=password_hash,
                              role="manager", active=True, session_token="bench-manager-token", created_at=since,
                              last_login_at=None))
    rows["products"] = [dict(id=i, code=code, name=name, category=cat, created_at=since, updated_at=since)
                        for i, (code, name, cat) in enumerate(PRODUCTS, 1)]
    rows["business_hours"] = [dict(id=1, name="Office hours", timezone="UTC", weekly=WEEKLY, holidays=[],
                                   created_at=since, updated_at=since)]
    rows["sla_policies"] = [
        dict(id=pid, name=name, position=pid, active=True, is_default=default, business_hours_id=1,
             conditions={} if default else {"organization_ids": sorted(PREMIUM_ORGS)},
             targets={str(p): dict(zip(("first_response", "next_response", "resolution"), t[key]))
                      for p, t in TARGETS.items()},
             pause_statuses=list(PAUSE_STATUSES), warning_percent=75, escalations=[], created_at=since,
             updated_at=since)
        for pid, name, key, default in POLICIES]
    rows["chat_topics"] = [dict(id=i, name=name, group_id=g, bot_enabled=bot, active=True, position=i,
                                routing="least_loaded", created_at=since) for i, name, g, bot in CHAT_TOPICS]
    rows["kb_translation_groups"] = [dict(id=i, created_at=since) for i in range(1, N_ARTICLES + 1)]
    rows["kb_articles"] = [
        dict(id=i, translation_group_id=i, language="en", slug=f"bench-answer-{i}", title=f"How to: {q}",
             summary=f"Answers about {q}.", body=f"Steps for {q}.", body_html=f"<p>Steps for {q}.</p>",
             body_text=f"Steps for {q}.", tags=[], status=ArticleStatus.PUBLISHED, visibility=Visibility.PUBLIC,
             published_at=since, created_at=since)
        for i, q in enumerate((SEARCHES * 2)[:N_ARTICLES], 1)]
    return rows, world


class InsightsGenerator(workspace.Generator):
    """bench/run.py's cases, messages and activities, with the history insights read added per chunk."""

    def __init__(self, n: int, world, ts, seed: int = 20240601):
        super().__init__(n, world, lambda x: x, seed)  # instants stay floats until chunk() ends
        self.real_ts = ts
        self.extra = random.Random(seed + 1)
        self.ids = dict.fromkeys(EXTRA_COLUMNS, 0)
        self.n_chats, self.n_searches, self.n_attempts = world.n_chats, world.n_chats * 3 // 2, world.n_chats // 2
        self.calendar = _calendar()
        self.week_cache: dict = {}

    def chunk(self, first: int, stop: int) -> dict[str, list[tuple]]:
        out = super().chunk(first, stop)
        extra = {name: [] for name in EXTRA_COLUMNS}
        cases = []
        for row in out["cases"]:
            cases.append(row + self._case_history(row, out["activities"], extra))
        out["cases"] = cases
        lo, hi = (first - 1) / self.n, (stop - 1) / self.n
        self._chats(lo, hi, extra["chat_sessions"], first, stop)
        self._self_service(lo, hi, extra, first, stop)
        out.update(extra)
        ts = self.real_ts
        for name, rows in out.items():
            positions = _TIME_FIELDS[name]
            if positions:
                for i, row in enumerate(rows):
                    row = list(row)
                    for p in positions:
                        if row[p] is not None:
                            row[p] = ts(row[p])
                    rows[i] = tuple(row)
        return out

    def _id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def _dt(self, x: float) -> datetime:
        return datetime.fromtimestamp(x, timezone.utc)

    def _case_history(self, row: tuple, activities: list, extra: dict) -> tuple:
        """SLA events, rating, time logs and a reopen for one case; returns the case's extra columns."""
        rnd, now, cal = self.extra, self.world.now, self.calendar
        (cid, _number, _subject, status, is_open, priority, _channel, contact_id, org_id, group_id, assignee, _cf,
         _merged, created, updated, first_response, resolved, closed, _deleted, _version) = row
        product = int(len(PRODUCTS) * rnd.random() ** 1.5) + 1 if rnd.random() < 0.7 else None
        pid, key = (2, "premium") if org_id in PREMIUM_ORGS else (1, "standard")
        fr_t, _nr_t, res_t = TARGETS[priority][key]
        fr_w, res_w = math.ceil(fr_t * 0.75), math.ceil(res_t * 0.75)
        created_dt = self._dt(created)
        due_fr, warn_fr, due_res, warn_res = (d.timestamp() for d in cal.add_each(created_dt, [fr_t, fr_w, res_t, res_w]))
        events = extra["sla_events"]
        sla = events.append

        def event(kind, clock, at, reason, due=None, data="{}", once=None):
            sla((self._id("sla_events"), cid, kind, clock, at, due, pid, reason, data, once))

        event("policy_changed", None, created, "default policy Standard" if pid == 1 else
              "Premium customers: organization matches", data=json.dumps({"to": pid}))
        event("started", "first_response", created, "case opened")
        event("started", "resolution", created, "case opened")

        # One pause (waiting for the customer or a third party) on some solved cases and every waiting open case.
        pause = None
        if not is_open and first_response is not None and resolved - first_response > 3600 and rnd.random() < 0.18:
            p0 = first_response + (resolved - first_response) * 0.3 * rnd.random()
            pause = (p0, p0 + (resolved - p0) * (0.2 + 0.6 * rnd.random()))
        elif is_open and status in PAUSE_STATUSES:
            pause = (max(first_response or created, updated - 3600 * rnd.random()), None)
        if pause is not None:
            length = cal.minutes_between(self._dt(pause[0]), self._dt(min(pause[1] or now, now)))

            def shifted(due, at=pause[0]):
                return cal.add(self._dt(due), length).timestamp() if at < due else due

            due_fr, warn_fr, due_res, warn_res = (shifted(d) for d in (due_fr, warn_fr, due_res, warn_res))

        def stop_clock(clock, label, at, due, reason):
            late = at > due
            event("fulfilled", clock, at, reason + (" (late)" if late else ""), due,
                  json.dumps({"cycle": 1, "late": late}))
            if late:
                event("breached", clock, due, f"{label} was due {self._dt(due):%Y-%m-%d %H:%M} UTC", due,
                      '{"cycle": 1}', f"{cid}:{clock}:1:breached")

        events_at = []  # (at, fn) so the events go in in time order, as the engine writes them
        if first_response is not None:
            events_at.append((first_response, lambda: stop_clock("first_response", "First response", first_response,
                                                                  due_fr, "agent replied")))
        if pause is not None:
            label = "Wait for customer" if rnd.random() < 0.7 else "Wait for third party"
            events_at.append((pause[0], lambda: event("paused", None, pause[0], f"status Open → {label}")))
            if pause[1] is not None:
                events_at.append((pause[1], lambda: event("resumed", None, pause[1], f"status {label} → Open")))
        if not is_open and first_response is not None and rnd.random() < 0.04:  # reopened once
            t1 = first_response + (resolved - first_response) * 0.4
            t2 = t1 + min(86400 * rnd.random(), (resolved - t1) * 0.5)
            events_at.append((t1, lambda: event("fulfilled", "resolution", t1, "case resolved", due_res,
                                                json.dumps({"cycle": 1, "late": t1 > due_res}))))
            events_at.append((t2, lambda: event("resumed", "resolution", t2, "reopened (Resolved → Open)")))
            for at, old, new in ((t1, "open", "resolved"), (t2, "resolved", "open")):
                self.activity_id += 1
                activities.append((self.activity_id, cid, assignee, None, "changed", "status", old, new, None, 1, at))
        if resolved is not None:
            events_at.append((resolved, lambda: stop_clock("resolution", "Resolution", resolved, due_res,
                                                           "case resolved" if status == "resolved" else "case closed")))
        running = []
        if is_open:
            paused = pause is not None
            if first_response is None:
                running.append(("first_response", "First response", due_fr, warn_fr))
            running.append(("resolution", "Resolution", due_res, warn_res))
            for clock, label, due, warn in running:
                if warn < now and not (paused and pause[0] < warn):
                    events_at.append((warn, lambda c=clock, w=warn, d=due: event(
                        "warned", c, w, f"{75} % of the target used", d, '{"cycle": 1}', f"{cid}:{c}:1:warned")))
                if due < now and not (paused and pause[0] < due):
                    events_at.append((due, lambda c=clock, lab=label, d=due: event(
                        "breached", c, d, f"{lab} was due {self._dt(d):%Y-%m-%d %H:%M} UTC", d, '{"cycle": 1}',
                        f"{cid}:{c}:1:breached")))
        for _at, add in sorted(events_at, key=lambda item: item[0]):
            add()

        # Satisfaction and hours.
        solver = assignee
        if resolved is not None and contact_id and rnd.random() < 0.10:
            score = rnd.choices((5, 4, 3, 2, 1), (55, 22, 8, 5, 10))[0]
            at = min(resolved + rnd.expovariate(1 / 21600), now)
            extra["ratings"].append((self._id("ratings"), cid, contact_id, score, rnd.choice(RATING_COMMENTS), solver,
                                     group_id, at, at))
        if solver is not None and first_response is not None and rnd.random() < 0.35:
            end = resolved if resolved is not None else min(updated, now)
            for _ in range(1 if rnd.random() < 0.8 else 2):
                minutes = rnd.choice((5, 10, 15, 20, 30, 45, 60, 90, 120))
                start = first_response + (end - first_response) * rnd.random()
                extra["time_logs"].append((self._id("time_logs"), cid, solver, minutes, rnd.random() < 0.8,
                                           rnd.choice(TIME_NOTES), start, start + minutes * 60, start + minutes * 60))

        if not running:
            return (product, pid, None, None, None, None, None, None, None)
        paused_at = pause[0] if pause is not None else None
        by_clock = {c: (d, w) for c, _label, d, w in running}
        fr_due = by_clock.get("first_response", (None, None))[0]
        sla_due = None if paused_at else min(d for d, _w in by_clock.values())
        warn_at = None if paused_at else min(w for _d, w in by_clock.values())
        upcoming = [x for d, w in by_clock.values() for x in (d, w) if x > now]
        check_at = None if paused_at or not upcoming else min(upcoming)
        return (product, pid, fr_due, None, due_res, sla_due, check_at, warn_at, paused_at)

    def _chats(self, lo: float, hi: float, rows: list, first_case: int, stop_case: int) -> None:
        rnd, w = self.extra, self.world
        start, span, now = self.start, self.span, w.now
        first, last = round(self.n_chats * lo) + 1, round(self.n_chats * hi)
        for chat_id in range(first, last + 1):
            day = start + (chat_id - 0.5) / self.n_chats * span
            day -= day % 86400
            if datetime.fromtimestamp(day, timezone.utc).weekday() >= 5 and rnd.random() < 0.7:
                day -= 2 * 86400  # fewer chats at weekends
            hour = rnd.choices(range(24), HOUR_WEIGHTS)[0]
            created = min(day + hour * 3600 + rnd.random() * 3600, now - 600)
            topic, _name, group, bot = CHAT_TOPICS[rnd.choices((0, 1, 2), (45, 30, 25))[0]]
            contact = int(workspace.N_CONTACTS * rnd.random() ** 2) + 1 if rnd.random() < 0.85 else None
            org = w.contact_org[contact] if contact else None
            members = w.group_members[group]
            agent = queued = assigned = accepted = fr_at = wait = frs = rating = comment = None
            missed = abandoned = bot_resolved = False
            transfers, missed_count = (1 if rnd.random() < 0.05 else 0), (1 if rnd.random() < 0.08 else 0)
            roll = rnd.random()
            if bot and roll < 0.45:  # the bot's answer was enough
                bot_resolved, ended_by = True, "visitor"
                ended = created + 30 + rnd.expovariate(1 / 120)
            else:
                queued = created + (20 + rnd.expovariate(1 / 60) if bot else 0)
                if roll > 0.90:  # nobody answered: the visitor left (abandoned) or the help desk gave up
                    wait = int(30 + rnd.expovariate(1 / 240))
                    ended = queued + wait
                    missed, abandoned = True, roll < 0.96
                    ended_by = "visitor" if abandoned else "system"
                else:
                    wait = int(rnd.expovariate(1 / 75))
                    agent = members[int(rnd.random() * len(members))]
                    assigned = queued + wait * 0.8
                    accepted = queued + wait
                    frs = int(wait + 5 + rnd.expovariate(1 / 25))
                    fr_at = created + frs
                    ended = accepted + 60 + rnd.expovariate(1 / 480)
                    ended_by = "agent" if rnd.random() < 0.6 else "visitor"
                    if rnd.random() < 0.35:
                        rating = rnd.choices((5, 4, 3, 2, 1), (60, 20, 8, 4, 8))[0]
                        comment = rnd.choice(RATING_COMMENTS) or None
            ended = min(ended, now)
            case_id = None
            if agent is not None and rnd.random() < 0.04:
                case_id = first_case + int(rnd.random() * (stop_case - first_case))
            rows.append((chat_id, f"bench-chat-{chat_id}", topic, group, agent, contact, org, case_id, "ended",
                         f"Contact {contact:04d}" if contact else "Visitor", f"visitor{chat_id}@mail.example.net",
                         int(4 + rnd.random() * 20), created, queued, assigned, accepted, fr_at, ended, ended, ended_by,
                         wait, frs, int(ended - created), transfers, missed_count, missed, abandoned, bot_resolved,
                         rating, comment, ended + (30 if rating else 0)))

    def _self_service(self, lo: float, hi: float, extra: dict, first_case: int, stop_case: int) -> None:
        rnd, start, span, now = self.extra, self.start, self.span, self.world.now

        def at(i: int, total: int) -> float:
            return min(start + (i - rnd.random()) / total * span, now - 60)

        for i in range(round(self.n_searches * lo) + 1, round(self.n_searches * hi) + 1):
            zero = rnd.random() < 0.12
            query = rnd.choice(ZERO_RESULT_SEARCHES) if zero else SEARCHES[int(len(SEARCHES) * rnd.random() ** 2)]
            extra["kb_search_log"].append((self._id("kb_search_log"), query, "en" if rnd.random() < 0.85 else "it",
                                           rnd.choices(("public", "customer", "staff"), (50, 35, 15))[0],
                                           0 if zero else int(1 + rnd.expovariate(1 / 6)), at(i, self.n_searches)))
        rows = extra["deflection_events"]
        for i in range(round(self.n_attempts * lo) + 1, round(self.n_attempts * hi) + 1):
            t = at(i, self.n_attempts)
            attempt = f"bench-{i}"
            contact = int(workspace.N_CONTACTS * rnd.random() ** 2) + 1
            query = SEARCHES[int(len(SEARCHES) * rnd.random() ** 2)]
            article = SEARCHES.index(query) + 1
            rows.append((self._id("deflection_events"), attempt, "suggestions_shown", contact, None, None, query, t))
            if rnd.random() < 0.45:
                t += 20 + rnd.random() * 100
                rows.append((self._id("deflection_events"), attempt, "article_opened", contact, article, None, query, t))
            t += 30 + rnd.random() * 300
            if rnd.random() < 0.35:
                rows.append((self._id("deflection_events"), attempt, "form_abandoned", contact, None, None, query, t))
            else:
                case = first_case + int(rnd.random() * (stop_case - first_case))
                rows.append((self._id("deflection_events"), attempt, "case_created", contact, None, case, query, t))


def _calendar():
    from helpdesk.sla.calendar import BusinessCalendar

    return BusinessCalendar("UTC", {int(d): [tuple(i) for i in ivs] for d, ivs in WEEKLY.items()})


# --- the database ---------------------------------------------------------------------------


def insights_app(url: str, instance: str):
    from helpdesk import create_app

    engine_options = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        engine_options["connect_args"] = {"factory": workspace._TimedSQLiteConnection}
    return create_app({
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        "ENV": "testing", "TESTING": True, "SECRET_KEY": "bench-secret", "WTF_CSRF_ENABLED": False,
        "SQLALCHEMY_DATABASE_URI": url, "EDGE_PACKAGES": ["knowledge_base"], "REDIS_URL": None, "SMTP_HOST": None,
        "INSTANCE_PATH": instance, "ATTACHMENT_DIR": os.path.join(instance, "attachments"),
        "OUTBOX_DIR": os.path.join(instance, "outbox"), "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "KB_SEARCH_INDEX_DIR": os.path.join(instance, "index"),
    })


def insight_tables(metadata) -> list:
    """The insights' own tables (facts, rollups, reports): rebuilt on every run, so not in the cache key."""
    from helpdesk.extensions import db

    names = {m.local_table.name for m in db.Model.registry.mappers
             if m.class_.__module__.startswith("helpdesk.insights") and m.local_table is not None}
    return [t for t in metadata.sorted_tables if t.name in names or t.name.startswith("insight")]


def schema_key(metadata, dialect, n: int, chats: int) -> str:
    skip = {t.name for t in insight_tables(metadata)}
    parts = [workspace.GENERATOR_VERSION, INSIGHTS_GENERATOR_VERSION, str(n), str(chats)]
    for table in metadata.sorted_tables:
        if table.name in skip:
            continue
        parts.append(str(CreateTable(table).compile(dialect=dialect)))
        parts += sorted(str(CreateIndex(ix).compile(dialect=dialect)) for ix in table.indexes)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


def ensure_seeded(app, url: str, n: int, chats: int, may_seed: bool = True) -> float | None:
    """Seed unless the database holds this generator's data for this schema; the seconds it took, or None."""
    from helpdesk.extensions import db

    with app.app_context():
        key = schema_key(db.metadata, db.engine.dialect, n, chats)
        meta = workspace.read_meta(db.engine)
        db.engine.dispose()
    if meta.get("key") == key:
        print(f"Using the seeded database ({n:,} cases, {chats:,} chats, key {key}, seeded {meta.get('now')}).")
        return None
    if not may_seed and meta.get("key") not in (None, "incomplete"):
        _report_schema_drift(app)
        return None
    if not meta:
        workspace._refuse_foreign_database(url)
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
    print(f"Seeding {n:,} cases and {chats:,} chats (key {key}) ...", flush=True)
    _overrides()
    original = workspace.small_tables

    def with_chats(now, password_hash):
        rows, world = original(now, password_hash)
        world.n_chats = chats
        return rows, world

    workspace.small_tables = with_chats
    try:
        seconds = workspace.seed(app, n, key)
    finally:
        workspace.small_tables = original
    print(f"Seeded in {seconds:.1f} s.", flush=True)
    with app.app_context():
        db.engine.dispose()
    return seconds


def _report_schema_drift(app) -> None:
    """--no-rebuild on a database seeded for an older schema: say what differs, and measure anyway."""
    from helpdesk.extensions import db

    print("WARNING: the database was seeded for another schema; measuring it as it is (--no-rebuild never seeds).")
    with app.app_context(), db.engine.connect() as conn:
        inspector = sa.inspect(conn)
        have = set(inspector.get_table_names())
        for table in db.metadata.sorted_tables:
            if table.name not in have:
                print(f"  missing table {table.name}")
                continue
            columns = {c["name"] for c in inspector.get_columns(table.name)}
            indexes = {i["name"] for i in inspector.get_indexes(table.name)}
            for column in table.c:
                if column.name not in columns:
                    print(f"  missing column {table.name}.{column.name}")
            for index in table.indexes:
                if index.name not in indexes:
                    print(f"  missing index {index.name} on {table.name}")
        db.engine.dispose()


def rebuild_facts(app) -> tuple[float | None, str]:
    """Drop and create the insights' tables, then run the rebuild; (seconds, what happened)."""
    from helpdesk.extensions import db

    try:
        from helpdesk.insights import services
    except ImportError as exc:
        return None, f"missing ({exc})"
    if not hasattr(services, "rebuild"):
        return None, "missing (helpdesk.insights.services.rebuild)"
    with app.app_context():
        tables = insight_tables(db.metadata)
        db.metadata.drop_all(db.engine, tables=tables)
        db.metadata.create_all(db.engine, tables=tables)
        started, cpu = time.perf_counter(), time.process_time()

        def progress(done: int, total: int) -> None:  # as `flask insights rebuild` does: a commit per batch
            db.session.commit()
            if done % 100_000 < 5000 or done == total:
                print(f"  {done:,}/{total:,} cases ({done / (time.perf_counter() - started):,.0f}/s)", flush=True)

        outcome = services.rebuild(progress=progress)
        db.session.commit()
        parts = [f"case facts {time.perf_counter() - started:.1f} s"]
        try:
            from helpdesk.insights import rollups
        except ImportError:
            rollups = None
        for rollup in rollups.registered() if rollups else []:  # chats, deflection, kb searches, ...
            at = time.perf_counter()
            rollup.rebuild()
            db.session.commit()
            parts.append(f"{rollup.name} {time.perf_counter() - at:.1f} s")
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                for t in tables:
                    conn.exec_driver_sql(f'ANALYZE "{t.name}"')
        else:
            with db.engine.begin() as conn:
                for t in tables:
                    conn.exec_driver_sql(f'ANALYZE "{t.name}"')
        counts = {t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t)) for t in tables}
        db.session.remove()
    return seconds, (f"{seconds:.1f} s ({cpu:.1f} s CPU: {', '.join(parts)}); {outcome!r} cases; rows: "
                     + ", ".join(f"{k} {v:,}" for k, v in counts.items()))


# --- measuring ------------------------------------------------------------------------------

DASHBOARDS = ["helpdesk", "sla", "chat", "self-service"]


def scenarios(app, seeded_day: date, today: date) -> list[tuple[str, list[str] | str]]:
    """(name, urls or the reason it is missing); a scenario cycles through its urls."""
    groups = range(1, workspace.N_GROUPS + 1)
    agents = range(1, workspace.N_AGENTS + 1)
    # The default range ends today; on a database seeded days ago, end where the data ends.
    base = {} if seeded_day == today else {"from": (seeded_day - timedelta(days=29)).isoformat(),
                                           "to": seeded_day.isoformat()}
    year = {"from": (seeded_day - timedelta(days=364)).isoformat(), "to": seeded_day.isoformat()}
    out = []
    for key in DASHBOARDS:
        path = f"/insights/{key}"
        if not _routable(app, path):
            out += [(f"{key} {what}", "missing") for what in ("30d", "365d", "group", "agent")]
            continue
        out += [(f"{key} 30d", [_url(path, base)]),
                (f"{key} 365d", [_url(path, year)]),
                (f"{key} group", [_url(path, dict(base, group=str(g))) for g in groups]),
                (f"{key} agent", [_url(path, dict(base, agent=str(a))) for a in agents])]
    return out


def _url(path: str, args: dict) -> str:
    from urllib.parse import urlencode

    return path + ("?" + urlencode(args) if args else "")


def _routable(app, path: str) -> bool:
    from werkzeug.exceptions import HTTPException

    adapter = app.url_map.bind("localhost")
    try:
        adapter.match(path.split("?")[0], method="GET")
        return True
    except HTTPException:
        return False


def linked_scenarios(client, app, first_page: str | None) -> list[tuple[str, list[str] | str]]:
    """A drill-down list and a CSV export, found on the help desk and chat dashboards' pages."""
    out = []
    if first_page is None:
        return [("cases drill-down", "missing"), ("chats drill-down", "missing"), ("csv export", "missing")]
    pages = {}
    for key in ("helpdesk", "chat"):
        response = client.get(f"/insights/{key}")
        pages[key] = response.get_data(as_text=True) if response.status_code == 200 else ""
        response.close()
    for name, key, pattern in (("cases drill-down", "helpdesk", r'href="(/insights/cases\?[^"]+)"'),
                               ("chats drill-down", "chat", r'href="(/insights/chats\?[^"]+)"')):
        found = re.findall(pattern, pages.get(key, ""))
        out.append((name, [unescape(found[0])] if found else "missing"))
    csvs = re.findall(r'href="(/insights/[\w-]+/[\w-]+\.csv[^"]*)"', pages.get("helpdesk", ""))
    out.append(("csv export", [unescape(csvs[0])] if csvs else "missing"))
    return out


def measure(app, requests: int, only: str | None, explain: bool, seeded_day: date):
    from helpdesk.extensions import db

    client = app.test_client()
    response = client.post("/login", data={"email": MANAGER_EMAIL, "password": workspace.PASSWORD})
    if response.status_code != 302:
        raise SystemExit(f"could not sign in as {MANAGER_EMAIL}: {response.status_code}")
    with app.app_context():
        timer = workspace.SqlTimer(db.engine)
    today = datetime.now(timezone.utc).date()
    todo = scenarios(app, seeded_day, today)
    first_page = next((urls[0] for _n, urls in todo if urls != "missing"), None)
    todo += linked_scenarios(client, app, first_page)
    results, missing, failed = [], [], []
    for name, urls in todo:
        if only and not any(part and part in name for part in only.split(",")):
            continue
        if urls == "missing":
            missing.append(name)
            print(f"  {name:<24} missing", flush=True)
            continue
        result = workspace.Result(name, urls[0])
        warmups = 3
        try:
            for i in range(warmups + requests):
                url = urls[i % len(urls)]
                timer.reset()
                cpu_started, started = time.thread_time(), time.perf_counter()
                response = client.get(url)
                response.get_data()  # a streamed body (CSV) is produced here
                response.close()
                took, cpu = time.perf_counter() - started, time.thread_time() - cpu_started
                if response.status_code == 404 and i == 0:
                    raise LookupError("missing (404)")
                if response.status_code != 200:
                    raise RuntimeError(f"GET {url} answered {response.status_code}: "
                                       f"{response.get_data(as_text=True)[:300]!r}")
                if i >= warmups:
                    result.times.append(took)
                    result.sql_times.append(timer.seconds)
                    result.cpu_times.append(cpu)
                    result.sql_counts.append(timer.count)
                    for cost, statement, parameters in timer.costs():
                        if cost > result.statements.get(statement, (0.0,))[0]:
                            result.statements[statement] = (cost, parameters)
        except LookupError:  # the dashboard's builder is not there yet: the view answers 404
            missing.append(name)
            print(f"  {name:<24} missing (404)", flush=True)
            continue
        except Exception as exc:  # one broken dashboard must not hide the others' figures
            failed.append((name, str(exc)[:400]))
            print(f"  {name:<24} FAILED: {str(exc)[:300]}", flush=True)
            continue
        results.append(result)
        print(f"  {name:<24} p50 {result.pct(result.times, 0.5):7.1f} ms  p95 {result.p95:7.1f} ms  "
              f"({sorted(result.sql_counts)[len(result.sql_counts) // 2]} statements)", flush=True)
    if explain and results:
        worst = max(results, key=lambda r: r.p95)
        print(f"\nThe slowest scenario, {worst.name} (p95 {worst.p95:.0f} ms): its costliest statements")
        with app.app_context():
            workspace.print_plan(db.engine, worst, top=5)
    return results, missing, failed


def print_table(results, missing, failed) -> None:
    header = (f"| {'scenario':<22} | {'n':>4} | {'p50 ms':>7} | {'p95 ms':>7} | {'max ms':>7} | {'cpu p50':>7} | "
              f"{'db p50':>7} | {'queries':>7} | {'target':>13} |")
    print(header)
    print("|" + "|".join("-" * len(c) for c in header.split("|")[1:-1]) + "|")
    for r in results:
        verdict = "PASS" if r.p95 <= TARGET_P95_MS else "MISS"
        print(f"| {r.name:<22} | {len(r.times):>4} | {r.pct(r.times, .5):>7.1f} | {r.p95:>7.1f} | "
              f"{max(r.times) * 1000:>7.1f} | {r.pct(r.cpu_times, .5):>7.1f} | {r.pct(r.sql_times, .5):>7.1f} | "
              f"{sorted(r.sql_counts)[len(r.sql_counts) // 2]:>7} | {'p95<=200 ' + verdict:>13} |")
    for name in missing:
        print(f"| {name:<22} | {'':>4} | {'missing':>7} | {'':>7} | {'':>7} | {'':>7} | {'':>7} | {'':>7} | {'':>13} |")
    for name, _why in failed:
        print(f"| {name:<22} | {'':>4} | {'FAILED':>7} | {'':>7} | {'':>7} | {'':>7} | {'':>7} | {'':>7} | {'':>13} |")


def run(args, url: str) -> None:
    from helpdesk.extensions import db

    with tempfile.TemporaryDirectory(prefix="helpdesk-bench-insights-") as instance:
        app = insights_app(url, instance)
        seed_seconds = ensure_seeded(app, url, args.cases, args.chats, may_seed=not args.no_rebuild)
        with app.app_context():
            seeded_at = datetime.fromisoformat(workspace.read_meta(db.engine)["now"])
            db.engine.dispose()
        if args.no_rebuild:
            rebuild = (None, "skipped (--no-rebuild)")
        else:
            print("Rebuilding the insights facts ...", flush=True)
            rebuild = rebuild_facts(app)
        print(f"Rebuild: {rebuild[1]}", flush=True)
        size, version = workspace.db_size(app), workspace.db_version(app)
        print(f"Measuring {args.requests} requests per scenario ({version}, database {size / 2**20:,.0f} MiB) ...",
              flush=True)
        load_before = os.getloadavg()
        results, missing, failed = measure(app, args.requests, args.only, args.explain, seeded_at.date())
        load_after = os.getloadavg()
        print()
        print(f"{args.cases:,} cases and {args.chats:,} chats on {version}; database {size / 2**20:,.0f} MiB; "
              + (f"seeded in {seed_seconds:.0f} s" if seed_seconds is not None else "seed reused from cache")
              + (f"; insights rebuild {rebuild[0]:.1f} s" if rebuild[0] is not None else f"; insights rebuild {rebuild[1]}"))
        print(f"load average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f} -> "
              f"{load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f} on {os.cpu_count()} CPUs")
        print_table(results, missing, failed)
        for name, why in failed:
            print(f"  {name}: {why}")
        missed = [r.name for r in results if r.p95 > TARGET_P95_MS]
        print(f"{len(results) - len(missed)}/{len(results)} measured scenarios within p95 <= {TARGET_P95_MS:.0f} ms"
              + (f"; missed: {', '.join(missed)}" if missed else "")
              + (f"; {len(missing)} missing" if missing else "") + (f"; {len(failed)} failed" if failed else ""))
        _save(args, version, size, seed_seconds, rebuild, results, missing, failed, (load_before, load_after))
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _save(args, version, size, seed_seconds, rebuild, results, missing, failed, load) -> None:
    workspace.RESULTS_DIR.mkdir(exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = workspace.RESULTS_DIR / f"insights-{args.db}-{args.cases}-{stamp}.json"
    path.write_text(json.dumps({
        "cases": args.cases, "chats": args.chats, "database": version, "size_bytes": size,
        "seed_seconds": seed_seconds, "rebuild_seconds": rebuild[0], "rebuild": rebuild[1], "load_average": load,
        "missing": missing, "failed": failed,
        "results": [{"scenario": r.name, "url": r.url, "n": len(r.times), "p50_ms": r.pct(r.times, .5),
                     "p95_ms": r.p95, "max_ms": max(r.times) * 1000, "sql_p50_ms": r.pct(r.sql_times, .5),
                     "cpu_p50_ms": r.pct(r.cpu_times, .5), "queries": sorted(r.sql_counts)[len(r.sql_counts) // 2]}
                    for r in results],
    }, indent=2))
    print(f"Results saved to {path.relative_to(ROOT)}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000, help="cases to seed (default 1,000,000)")
    parser.add_argument("--chats", type=int, default=200_000, help="chats to seed (default 200,000)")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--db-url", help="use this database (seeded when its bench key differs) instead")
    parser.add_argument("--requests", type=int, default=100, help="timed requests per scenario (after 3 warm-ups)")
    parser.add_argument("--keep", type=Path, help="SQLite file to seed into and reuse (default: bench/.data/)")
    parser.add_argument("--only", help="run only the scenarios whose names contain one of these (comma-separated)")
    parser.add_argument("--explain", action="store_true",
                        help="print the plans of the slowest scenario's costliest statements")
    parser.add_argument("--no-rebuild", action="store_true", help="keep the insights facts of the last run (and never seed)")
    args = parser.parse_args(argv)

    if args.db_url:
        args.db = "postgresql" if args.db_url.startswith("postgres") else "sqlite"
        run(args, args.db_url)
    elif args.db == "postgresql":
        from tests.postgres import private_postgres

        with private_postgres() as url:
            run(args, url)
    else:
        path = args.keep or workspace.DATA_DIR / f"insights-{args.cases}.sqlite"
        path.parent.mkdir(parents=True, exist_ok=True)
        run(args, f"sqlite:///{path.resolve()}")


if __name__ == "__main__":
    main()
