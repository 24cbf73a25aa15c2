"""Time service contracts and hours at scale: the intake link (one query), recounting a big
contract, the periodic review of every contract, the hours report and the pages.

    .venv/bin/python bench/contracts.py [--contracts 10000] [--cases 200000] [--logs 3] [--db-url URL]

Without --db-url it seeds a temporary SQLite database and deletes it afterwards. Seeding writes
with Core executemany, not through the services; the timed parts go through the real code.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select  # noqa: E402

from helpdesk import create_app  # noqa: E402
from helpdesk.cases.models import Case  # noqa: E402
from helpdesk.cases.services import open_case  # noqa: E402
from helpdesk.contracts import queries  # noqa: E402
from helpdesk.contracts.jobs import review_contracts  # noqa: E402
from helpdesk.contracts.models import ServiceContract, TimeLog  # noqa: E402
from helpdesk.contracts.services import log_time, refresh_usage  # noqa: E402
from helpdesk.extensions import db  # noqa: E402
from helpdesk.people.models import Contact, Organization, User  # noqa: E402
from helpdesk.people.services import create_user  # noqa: E402

NOW = datetime(2026, 11, 18, 10, 0, tzinfo=timezone.utc)
TODAY = NOW.date()
BATCH = 20_000
ORGS, CONTACTS = 2_000, 20_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contracts", type=int, default=10_000)
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--logs", type=int, default=3, help="time logs per case on average")
    parser.add_argument("--db-url", help="an empty database to use (default: a temporary SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db_url or f"sqlite:///{Path(tmp) / 'contracts.db'}"
        app = create_app({"ENV": "testing", "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": tmp,
                          "EDGE_PACKAGES": [], "REDIS_URL": None, "SMTP_HOST": None, "WTF_CSRF_ENABLED": False,
                          "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "OUTBOX_DIR": str(Path(tmp) / "outbox")})
        with app.app_context():
            db.drop_all()
            db.create_all()
            started = time.perf_counter()
            agent = create_user(None, email="bench@staff.example", name="Bench Agent", password="bench-password",
                                role="manager")
            db.session.commit()
            big = seed(args.contracts, args.cases, args.logs, agent.id)
            print(f"seeded {args.contracts:,} contracts, {args.cases:,} cases, {args.cases * args.logs:,} time logs "
                  f"on {db.engine.dialect.name} in {time.perf_counter() - started:.1f} s")
            run(app, agent, big)


def seed(n_contracts: int, n_cases: int, logs_per_case: int, agent_id: int) -> int:
    rnd = random.Random(7)
    _insert(Organization, [{"id": i, "name": f"Org {i}", "created_at": NOW} for i in range(1, ORGS + 1)])
    _insert(Contact, [{"id": i, "name": f"Contact {i}", "email": f"c{i}@example.com", "organization_id": rnd.randint(1, ORGS),
                       "created_at": NOW} for i in range(1, CONTACTS + 1)])
    units = ["hours", "hours", "days", "incidents"]
    rows = []
    for i in range(1, n_contracts + 1):
        own = i % 2 == 0
        start = TODAY - timedelta(days=rnd.randint(0, 700))
        rows.append({"id": i, "name": f"Contract {i}", "contact_id": rnd.randint(1, CONTACTS) if own else None,
                     "organization_id": None if own else rnd.randint(1, ORGS), "start_date": start,
                     "end_date": start + timedelta(days=365), "tracking_unit": units[i % 4], "total_units": 100.0,
                     "used_units": 0.0, "hours_per_day": 8.0, "status": "active", "created_at": NOW, "updated_at": NOW})
    _insert(ServiceContract, rows)
    # Contract 1 is the big one: 5 % of all cases count against it.
    big = 1
    db.session.execute(ServiceContract.__table__.update().where(ServiceContract.id == big)
                       .values(tracking_unit="hours", total_units=1_000_000.0, end_date=TODAY + timedelta(days=300)))
    case_rows, log_rows, log_id = [], [], 1
    for i in range(1, n_cases + 1):
        contract = big if rnd.random() < 0.05 else (rnd.randint(1, n_contracts) if rnd.random() < 0.7 else None)
        status = rnd.choice(["closed", "closed", "closed", "open", "resolved"])
        created = NOW - timedelta(minutes=rnd.randint(0, 60 * 24 * 365))
        case_rows.append({"id": i, "number": f"CS-{i}", "subject": f"Case {i}", "status": status, "is_open": status == "open",
                          "priority": 2, "channel": "email", "contact_id": rnd.randint(1, CONTACTS),
                          "service_contract_id": contract, "custom_fields": {}, "created_at": created, "updated_at": created,
                          "version": 1})
        for _ in range(rnd.randint(0, 2 * logs_per_case)):
            started = created + timedelta(minutes=rnd.randint(0, 600))
            log_rows.append({"id": log_id, "case_id": i, "user_id": agent_id, "minutes": rnd.randint(5, 120),
                             "billable": rnd.random() < 0.8, "note": "", "started_at": started, "stopped_at": started,
                             "created_at": started})
            log_id += 1
        if len(case_rows) >= BATCH:
            _insert(Case, case_rows)
            _insert(TimeLog, log_rows)
            case_rows, log_rows = [], []
    _insert(Case, case_rows)
    _insert(TimeLog, log_rows)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(db.text("ANALYZE"))
    else:
        db.session.execute(db.text("ANALYZE"))
    db.session.commit()
    return big


def _insert(model, rows: list[dict]) -> None:
    for start in range(0, len(rows), BATCH):
        db.session.execute(insert(model), rows[start:start + BATCH])


def timed(fn, n: int) -> tuple[float, float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def run(app, agent: User, big: int) -> None:
    rnd = random.Random(11)
    customers = [(c, o) for c, o in db.session.execute(select(Contact.id, Contact.organization_id).limit(5000))]
    p50, p95 = timed(lambda: queries.active_contract_for(*rnd.choice(customers), on=TODAY), 1000)
    print(f"intake link query (a customer's active contract): p50 {p50:.2f} ms, p95 {p95:.2f} ms")

    contacts = db.session.scalars(select(Contact).limit(200)).all()
    agent = db.session.merge(agent)

    def intake():
        open_case(agent, subject="Bench intake", body="Something broke", contact=rnd.choice(contacts))
        db.session.rollback()

    p50, p95 = timed(intake, 200)
    print(f"open_case with the contract link and SLA start (rolled back): p50 {p50:.2f} ms, p95 {p95:.2f} ms")

    contract = db.session.get(ServiceContract, big)
    logs = db.session.scalar(select(func.count(TimeLog.id)).join(Case).where(Case.service_contract_id == big))
    p50, p95 = timed(lambda: refresh_usage(contract, TODAY), 20)
    print(f"full recount of the biggest contract (review job, contract edit) ({logs:,} time logs): p50 {p50:.1f} ms, p95 {p95:.1f} ms "
          f"-> {contract.used_units:,.2f} h used")
    db.session.commit()

    big_case = db.session.get(Case, db.session.scalar(select(Case.id).where(Case.service_contract_id == big).limit(1)))

    def log():
        log_time(agent, big_case, minutes=15, note="bench")
        db.session.rollback()

    p50, p95 = timed(log, 100)
    print(f"log time on a case of the biggest contract (added in SQL, rolled back): p50 {p50:.2f} ms, p95 {p95:.2f} ms")

    count = db.session.scalar(select(func.count(ServiceContract.id)))
    started = time.perf_counter()
    review_contracts(TODAY)
    seconds = time.perf_counter() - started
    print(f"review_contracts over {count:,} contracts: {seconds:.2f} s ({count / seconds:,.0f} contracts/s)")
    started = time.perf_counter()
    review_contracts(TODAY)
    print(f"review_contracts again (nothing new to notify): {time.perf_counter() - started:.2f} s")
    status = dict(db.session.execute(select(ServiceContract.status, func.count()).group_by(ServiceContract.status)).all())
    print("contract statuses after the review:", {k.value: v for k, v in status.items()})

    f = queries.ReportFilter(TODAY - timedelta(days=29), TODAY)
    p50, p95 = timed(lambda: queries.hours_report(f), 10)
    print(f"hours report, 30 days: p50 {p50:.0f} ms, p95 {p95:.0f} ms")
    f = queries.ReportFilter(TODAY - timedelta(days=364), TODAY)
    p50, p95 = timed(lambda: queries.hours_report(f), 5)
    print(f"hours report, a year: p50 {p50:.0f} ms, p95 {p95:.0f} ms")

    client = app.test_client()
    response = client.post("/login", data={"email": "bench@staff.example", "password": "bench-password"})
    assert response.status_code == 302, response.status_code
    case_id = db.session.scalar(select(Case.id).where(Case.service_contract_id == big).limit(1))
    for name, url in (("contract page (biggest contract)", f"/contracts/{big}"),
                      ("case page with links and time panels", f"/cases/{case_id}"),
                      ("contracts list", "/contracts")):
        def get(url=url):
            assert client.get(url).status_code == 200
        p50, p95 = timed(get, 30)
        print(f"GET {name}: p50 {p50:.1f} ms, p95 {p95:.1f} ms")


if __name__ == "__main__":
    main()

