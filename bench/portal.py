"""Time the customer portal against a large help desk (target: p95 <= 30 ms of server time).

    .venv/bin/python bench/portal.py [--cases 1000000] [--db sqlite|postgresql] [--db-url URL]
                                     [--requests 200] [--articles 2000] [--only NAME]

Seeds the cases exactly as bench/run.py does (its generator, loaders and cache key, with the
knowledge base and portal tables added; SQLite file bench/.data/portal-N.sqlite), then adds
published articles and gives a few contacts portal access: a member with many cases and the
manager of the largest organization. It signs them in through /portal/login and times, with
Flask's test client in-process, the case lists (open, all, a later page, the organization's),
a case page and a help-center article page.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# This file is bench/portal.py: keep its folder off the path, or `import portal` would find it
# instead of the portal package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import importlib.util  # noqa: E402

import sqlalchemy as sa  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
workspace = importlib.util.module_from_spec(_spec)  # bench/run.py: the seeding and the timers
sys.modules["bench_run"] = workspace
_spec.loader.exec_module(workspace)

TARGET_P95_MS = 30.0
PASSWORD = "bench-portal-password"


def portal_app(url: str, instance: str):
    from helpdesk import create_app

    engine_options = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        engine_options["connect_args"] = {"factory": workspace._TimedSQLiteConnection}
    return create_app({
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        "ENV": "testing", "TESTING": True, "SECRET_KEY": "bench-secret", "WTF_CSRF_ENABLED": False,
        "SQLALCHEMY_DATABASE_URI": url, "EDGE_PACKAGES": ["knowledge_base", "portal"], "REDIS_URL": None,
        "SMTP_HOST": None, "INSTANCE_PATH": instance, "ATTACHMENT_DIR": os.path.join(instance, "attachments"),
        "OUTBOX_DIR": os.path.join(instance, "outbox"), "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "KB_SEARCH_INDEX_DIR": os.path.join(instance, "index"),
    })


def prepare_portal(app, articles: int) -> dict:
    """Portal logins and knowledge-base articles on top of the seeded cases (idempotent)."""
    from helpdesk.cases.models import Case
    from helpdesk.extensions import db
    from helpdesk.people.models import Contact
    from helpdesk.people.services import hash_password
    from knowledge_base.models import Article, ArticleStatus, TranslationGroup, Visibility

    with app.app_context():
        session = db.session
        # The contact with the most cases (a member) and the largest organization (its manager).
        member_id = session.execute(
            sa.select(Case.contact_id).where(Case.contact_id.is_not(None)).group_by(Case.contact_id)
            .order_by(sa.func.count().desc()).limit(1)).scalar_one()
        org_id = session.execute(
            sa.select(Case.organization_id).where(Case.organization_id.is_not(None)).group_by(Case.organization_id)
            .order_by(sa.func.count().desc()).limit(1)).scalar_one()
        manager = session.scalars(sa.select(Contact).where(Contact.organization_id == org_id,
                                                           Contact.id != member_id).order_by(Contact.id).limit(1)).one()
        member = session.get(Contact, member_id)
        password_hash = hash_password(PASSWORD)
        for contact, role in ((member, "member"), (manager, "org_manager")):
            contact.portal_enabled, contact.portal_role = True, role
            contact.portal_password_hash = password_hash
            contact.portal_session_token = contact.portal_session_token or f"bench-{contact.id}"
        have = session.scalar(sa.select(sa.func.count(Article.id)))
        now = datetime.now(timezone.utc)
        for i in range(have, articles):
            group = TranslationGroup()
            session.add(group)
            body = f"Step {i}: open the settings, choose the printer and restart the spooler. " * 12
            session.add(Article(translation_group=group, language="en", slug=f"bench-article-{i}",
                                title=f"How to fix printer problem {i}", summary=f"Printer problem {i}, step by step.",
                                body=body, body_html=f"<p>{body}</p>", body_text=body, status=ArticleStatus.PUBLISHED,
                                visibility=Visibility.PUBLIC, published_at=now, view_count=i % 97))
            if i % 1000 == 999:
                session.flush()
        session.commit()
        case_id = session.scalar(sa.select(Case.id).where(Case.contact_id == member_id)
                                 .order_by(Case.updated_at.desc()).limit(1))
        article_id = session.scalar(sa.select(Article.id).order_by(Article.id.desc()).limit(1))
        counts = {"member cases": session.scalar(sa.select(sa.func.count()).where(Case.contact_id == member_id)),
                  "organization cases": session.scalar(sa.select(sa.func.count()).where(Case.organization_id == org_id))}
        return {"member": member.email, "manager": manager.email, "case_id": case_id, "article_id": article_id,
                **counts}


def _sign_in(app, email: str):
    client = app.test_client()
    response = client.post("/portal/login", data={"email": email, "password": PASSWORD})
    if response.status_code != 302:
        raise SystemExit(f"could not sign in to the portal as {email}: {response.status_code}")
    return client


def _older_url(client, url: str, pages: int = 5) -> str:
    for _ in range(pages):
        body = client.get(url).get_data(as_text=True)
        match = re.search(r'href="(/portal/\?[^"]*after=[^"]+)"', body)
        if not match:
            break
        url = match.group(1).replace("&amp;", "&")
    return url


def measure(app, facts: dict, requests: int, only: str | None) -> list:
    from helpdesk.extensions import db

    member, manager, anonymous = _sign_in(app, facts["member"]), _sign_in(app, facts["manager"]), app.test_client()
    scenarios = [
        ("my open cases", member, "/portal/", {}),
        ("my cases, all", member, "/portal/?state=all", {}),
        ("my cases, page 6", member, _older_url(member, "/portal/?state=all"), {}),
        ("list as htmx partial", member, "/portal/?state=all", {"HX-Request": "true"}),
        ("org manager, all open", manager, "/portal/?scope=all", {}),
        ("org manager, everything", manager, "/portal/?scope=all&state=all", {}),
        ("case page", member, f"/portal/cases/{facts['case_id']}", {}),
        ("article page", anonymous, f"/help/articles/{facts['article_id']}", {}),
        ("article, signed in", member, f"/help/articles/{facts['article_id']}", {}),
    ]
    with app.app_context():
        timer = workspace.SqlTimer(db.engine)
    results = []
    for name, client, url, headers in scenarios:
        if only and not any(part and part in name for part in only.split(",")):
            continue
        result = workspace.Result(name, url)
        for i in range(10 + requests):
            timer.reset()
            cpu_started, started = time.thread_time(), time.perf_counter()
            response = client.get(url, headers=headers)
            took, cpu = time.perf_counter() - started, time.thread_time() - cpu_started
            workspace._check(response, url)
            if i >= 10:
                result.times.append(took)
                result.sql_times.append(timer.seconds)
                result.cpu_times.append(cpu)
                result.sql_counts.append(timer.count)
        results.append(result)
        print(f"  {name:<24} p50 {result.pct(result.times, 0.5):7.1f} ms  p95 {result.p95:7.1f} ms", flush=True)
    return results


def print_table(results) -> None:
    print(f"| {'scenario':<24} | {'p50 ms':>7} | {'p95 ms':>7} | {'max ms':>7} | {'cpu p50':>7} | {'cpu p95':>7} | "
          f"{'db p50':>7} | {'queries':>7} | target |")
    print("|" + "-" * 26 + ("|" + "-" * 9) * 7 + "|--------|")
    for r in results:
        verdict = "PASS" if r.p95 <= TARGET_P95_MS else "MISS"
        print(f"| {r.name:<24} | {r.pct(r.times, .5):>7.1f} | {r.p95:>7.1f} | {max(r.times) * 1000:>7.1f} | "
              f"{r.pct(r.cpu_times, .5):>7.1f} | {r.pct(r.cpu_times, .95):>7.1f} | {r.pct(r.sql_times, .5):>7.1f} | "
              f"{sorted(r.sql_counts)[len(r.sql_counts) // 2]:>7} | {verdict:>6} |")


def run(args, url: str) -> None:
    from helpdesk.extensions import db

    with tempfile.TemporaryDirectory(prefix="helpdesk-portal-bench-") as instance:
        app = portal_app(url, instance)
        with app.app_context():
            key = workspace.schema_key(db.metadata, db.engine.dialect, args.cases)
            meta = workspace.read_meta(db.engine)
            db.engine.dispose()
        if meta.get("key") == key:
            print(f"Using the seeded database ({args.cases:,} cases, key {key}).")
        else:
            if not meta:
                workspace._refuse_foreign_database(url)
            sqlite_path = sa.engine.make_url(url).database if url.startswith("sqlite") else None
            if sqlite_path:
                for suffix in ("", "-wal", "-shm"):
                    if os.path.exists(sqlite_path + suffix):
                        os.remove(sqlite_path + suffix)
            print(f"Seeding {args.cases:,} cases (key {key}) ...", flush=True)
            print(f"Seeded in {workspace.seed(app, args.cases, key):.1f} s.", flush=True)
            with app.app_context():
                db.engine.dispose()
        facts = prepare_portal(app, args.articles)
        print(f"Member {facts['member']} has {facts['member cases']:,} cases; the manager's organization "
              f"{facts['organization cases']:,}; {args.articles:,} articles.")
        load_before = os.getloadavg()[0]
        results = measure(app, facts, args.requests, args.only)
        print()
        print(f"{args.cases:,} cases on {workspace.db_version(app)}; load average {load_before:.1f} -> "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print_table(results)
        missed = [r.name for r in results if r.p95 > TARGET_P95_MS]
        print(f"{len(results) - len(missed)}/{len(results)} scenarios within p95 <= {TARGET_P95_MS:.0f} ms"
              + (f"; missed: {', '.join(missed)}" if missed else ""))
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000, help="how many cases to seed (default 1,000,000)")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--db-url", help="use this database (seeded when its bench key differs) instead")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per scenario (after 10 warm-ups)")
    parser.add_argument("--articles", type=int, default=2000, help="published articles to add (default 2,000)")
    parser.add_argument("--only", help="run only the scenarios whose names contain one of these (comma-separated)")
    args = parser.parse_args(argv)
    if args.db_url:
        run(args, args.db_url)
    elif args.db == "postgresql":
        from tests.postgres import private_postgres

        with private_postgres() as url:
            run(args, url)
    else:
        workspace.DATA_DIR.mkdir(parents=True, exist_ok=True)
        run(args, f"sqlite:///{(workspace.DATA_DIR / f'portal-{args.cases}.sqlite').resolve()}")


if __name__ == "__main__":
    main()
