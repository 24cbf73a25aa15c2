"""Ingest a generated mail corpus end to end and print msgs/s, CPU ms per mail and peak memory.

    .venv/bin/python bench/mailroom.py [--n 5000] [--seed 42] [--db sqlite|postgresql|both] [--acks]

Every mail goes the production way of `flask mailroom ingest` in one process (the embedded
mode: no Redis, a job runs right after the commit that queued it): each mail's raw bytes are
stored and committed on their own, and every 50 stored mails one batch job parses, screens,
threads and files them, 25 to a transaction with a savepoint each. The corpus comes from
../shared/tools/gen_email_corpus.py and is cached under bench/.data/. Target on SQLite: 730 msgs/s.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GENERATOR = ROOT.parent / "shared" / "tools" / "gen_email_corpus.py"
DATA_DIR = Path(__file__).resolve().parent / ".data"
RESULTS_DIR = Path(__file__).resolve().parent / "results"
TARGET = 730.0


def corpus(n: int, seed: int) -> list[bytes]:
    folder = DATA_DIR / f"mail-{n}-{seed}"
    if not (folder / "manifest.jsonl").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(GENERATOR), "--n", str(n), "--seed", str(seed), "--out", str(folder),
                        "--token-template", "[CS-{id}]"], check=True, capture_output=True)
    rows = [json.loads(line) for line in (folder / "manifest.jsonl").read_text().splitlines() if line.strip()]
    return [(folder / row["file"]).read_bytes() for row in rows]


def run(url: str, mails: list[bytes], workdir: Path, acks: bool) -> dict:
    from sqlalchemy import event, func, select

    from helpdesk import create_app
    from helpdesk.cases.models import Case
    from helpdesk.extensions import db
    from mailroom.models import InboundEmail
    from mailroom.services import Intake, create_mailbox

    app = create_app({
        "ENV": "testing", "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url,
        "INSTANCE_PATH": str(workdir / "instance"), "ATTACHMENT_DIR": str(workdir / "attachments"),
        "OUTBOX_DIR": str(workdir / "outbox"), "EDGE_PACKAGES": ["mailroom"], "REDIS_URL": None,
        "SMTP_HOST": None, "CASE_NUMBER_PREFIX": "CS-",
    })
    with app.app_context():
        db.drop_all()
        db.create_all()
        mailbox = create_mailbox(None, address="support@helpdesk.example", name="Support", auto_reply=acks)
        db.session.commit()
        statements = [0]

        def count(*_):
            statements[0] += 1

        event.listen(db.engine, "before_cursor_execute", count)
        wall, cpu = time.perf_counter(), time.process_time()
        with Intake() as intake:
            for raw in mails:
                intake.store(raw, mailbox, "cli")
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        event.remove(db.engine, "before_cursor_execute", count)
        statuses = dict(db.session.execute(select(InboundEmail.status, func.count()).group_by(InboundEmail.status)).all())
        cases = db.session.scalar(select(func.count(Case.id)))
        db.session.remove()
        db.engine.dispose()
    return {
        "mails": len(mails), "seconds": round(wall, 2), "msgs_per_s": round(len(mails) / wall, 1),
        "cpu_ms_per_mail": round(cpu * 1000 / len(mails), 3),
        "statements_per_mail": round(statements[0] / len(mails), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "statuses": {k.value: v for k, v in statuses.items()}, "cases": cases,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--acks", action="store_true", help="Mailbox sends acknowledgements (written to the outbox).")
    args = parser.parse_args()
    os.environ.setdefault("HELPDESK_ENV", "testing")
    mails = corpus(args.n, args.seed)
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-mailroom-") as tmp:
        if args.db in ("sqlite", "both"):
            results["sqlite"] = run(f"sqlite:///{tmp}/bench.db", mails, Path(tmp) / "sqlite", args.acks)
            _show("sqlite", results["sqlite"])
        if args.db in ("postgresql", "both"):
            from tests.postgres import private_postgres

            with private_postgres() as url:
                results["postgresql"] = run(url, mails, Path(tmp) / "pg", args.acks)
            _show("postgresql", results["postgresql"])
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"mailroom-{args.n}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps({"n": args.n, "seed": args.seed, "acks": args.acks, **results}, indent=2))
    print(f"results in {out.relative_to(ROOT)}")


def _show(name: str, r: dict) -> None:
    verdict = "" if name != "sqlite" else (" (target 730: met)" if r["msgs_per_s"] >= TARGET else " (target 730: NOT met)")
    print(f"{name:<11} {r['mails']} mails in {r['seconds']} s: {r['msgs_per_s']} msgs/s{verdict}, "
          f"{r['cpu_ms_per_mail']} CPU ms/mail, {r['statements_per_mail']} SQL statements/mail, peak RSS {r['peak_rss_mb']} MB; "
          f"{r['cases']} cases, {r['statuses']}")


if __name__ == "__main__":
    main()
