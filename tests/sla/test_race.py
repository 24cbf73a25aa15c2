"""Two sweeps at once, in two processes on two real connections, on the run's database (a SQLite
file, or a fresh PostgreSQL database): every warning and breach is recorded, notified and
escalated exactly once."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from helpdesk import create_app
from helpdesk.extensions import db
from tests.conftest import TEST_DB, app_config

ROOT = Path(__file__).resolve().parents[2]
CASES = 60
OPENED = datetime(2025, 6, 2, 9, 0, tzinfo=timezone.utc)
SWEEP_AT = OPENED + timedelta(hours=3)  # first response (60 min) and resolution (120 min) both late


@pytest.fixture
def race_db(tmp_path, database_url):
    """A database of its own where commits are real, on the run's kind of server."""
    if TEST_DB != "postgresql":
        yield f"sqlite:///{tmp_path / 'race.db'}"
        return
    base = make_url(database_url)
    name = f"sla_race_{os.getpid()}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def _seed(app) -> dict:
    import helpdesk.types
    from helpdesk.cases.services import follow_case, open_case
    from helpdesk.people.services import create_contact, create_group, create_user
    from helpdesk.sla.services import save_business_hours, save_policy

    with app.app_context():
        db.create_all()
        hours = save_business_hours(None, None, name="Always", timezone="UTC",
                                    weekly={str(d): [["00:00", "24:00"]] for d in range(7)}, holidays=[])
        save_policy(None, None, dict(name="Race", is_default=True, business_hours_id=hours.id, warning_percent=0,
                                     targets={str(p): {"first_response": 60, "resolution": 120} for p in (1, 2, 3, 4)},
                                     escalations=[{"on": "breached", "clock": "any", "notify": ["assignee"]}]))
        agents = [create_user(None, role="agent", email=f"race{i}@staff.example", name=f"Racer {i}",
                              password="correct-horse-battery") for i in range(3)]
        watcher = create_user(None, role="agent", email="watcher@staff.example", name="Watcher", password="correct-horse-battery")
        team = create_group(None, name="Racers", members=agents[:2])
        contact = create_contact(None, name="Customer", email="customer@mail.example")
        saved, helpdesk.types.clock = helpdesk.types.clock, lambda: OPENED
        try:
            for i in range(CASES):
                # A third unassigned (their group hears), every fifth followed by the watcher.
                case = open_case(None, subject=f"Race {i}", body="x", contact=contact,
                                 assignee=None if i % 3 == 0 else agents[i % 3], group=team)
                if i % 5 == 0:
                    follow_case(watcher, case)
        finally:
            helpdesk.types.clock = saved
        db.session.commit()
        return {"agents": [a.id for a in agents], "watcher": watcher.id}


def _child() -> None:
    """One sweeping process: build the app, say ready, wait for the starting gun, sweep."""
    from helpdesk.sla import jobs

    jobs.BATCH = 10  # small batches, so the two sweeps take turns and meet on the same cases
    settings = json.loads(os.environ["RACE_SETTINGS"])
    app = create_app(app_config(Path(settings["folder"]), settings["url"]))
    with app.app_context():
        db.session.execute(select(1)).all()  # connect before the gun
        db.session.rollback()
        print("ready", flush=True)
        gun = Path(settings["gun"])
        while not gun.exists():
            time.sleep(0.005)
        recorded = jobs.sweep_sla(datetime.fromisoformat(settings["now"]))
        print(f"recorded {recorded}", flush=True)
        db.session.remove()
        db.engine.dispose()


def test_two_sweeps_at_once_record_and_notify_each_breach_once(tmp_path, race_db):
    app = create_app(app_config(tmp_path / "seed", race_db))
    people = _seed(app)
    gun = tmp_path / "gun"
    children = []
    try:
        for n in range(2):
            env = dict(os.environ, RACE_SETTINGS=json.dumps({"folder": str(tmp_path / f"child{n}"), "url": race_db,
                                                             "gun": str(gun), "now": SWEEP_AT.isoformat()}))
            children.append(subprocess.Popen(
                [sys.executable, "-c", "from tests.sla.test_race import _child; _child()"], cwd=ROOT, env=env,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        for child in children:
            assert child.stdout.readline().strip() == "ready", child.stderr.read()
        gun.touch()
        outputs = [child.communicate(timeout=300) for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    for child, (out, err) in zip(children, outputs):
        assert child.returncode == 0, err
    recorded = [int(out.split()[-1]) for out, _ in outputs]
    assert sum(recorded) == 2 * CASES, recorded  # two breaches a case (first response, resolution), each by one sweep
    print("recorded by each sweep:", recorded)

    from helpdesk.cases.models import Case
    from helpdesk.mail.models import OutboundEmail
    from helpdesk.notifications.models import Notification
    from helpdesk.sla.models import SLAEvent

    with app.app_context():
        breaches = db.session.execute(select(SLAEvent.case_id, SLAEvent.clock).where(SLAEvent.kind == "breached")).all()
        assert len(breaches) == 2 * CASES and len(set(breaches)) == 2 * CASES
        assert db.session.scalar(select(func.count()).select_from(SLAEvent).where(SLAEvent.kind == "warned")) == 0
        # In the app: one breach notice per person per case (a second breach refreshes the unread one).
        notices = Counter(db.session.execute(
            select(Notification.user_id, Notification.target_id).where(Notification.kind == "sla.breached")).all())
        assert set(notices.values()) == {1}
        cases = db.session.scalars(select(Case).order_by(Case.id)).all()
        expected = set()
        for case in cases:
            hearers = {case.assignee_id} if case.assignee_id else set(people["agents"][:2])
            hearers |= {u.id for u in case.followers}
            expected |= {(u, case.id) for u in hearers}
        assert set(notices) == expected
        # By mail, the escalation: one message per breach to the assignee.
        mails = db.session.scalars(select(OutboundEmail.dedupe_key).where(OutboundEmail.dedupe_key.like("sla:%"))).all()
        assert len(mails) == len(set(mails)) == 2 * sum(1 for c in cases if c.assignee_id)
        assert all(c.sla_check_at is None for c in cases)
        db.session.remove()
        db.engine.dispose()
