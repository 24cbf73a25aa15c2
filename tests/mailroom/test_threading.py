"""Threading against the generator's ground truth, with the mail arriving out of order."""
from __future__ import annotations

import random

import pytest
from sqlalchemy import select

from helpdesk.extensions import db
from mailroom.models import InboundEmail, InboundStatus
from mailroom.services import create_mailbox, store_inbound
from tests.mailroom.conftest import GENERATOR, generate_corpus



def _ingest(app, folder, rows) -> dict[str, InboundEmail]:
    with app.app_context():
        mailbox = create_mailbox(None, address="support@helpdesk.example", auto_reply=False)
        db.session.commit()
        ids = {}
        for row in rows:
            inbound, _ = store_inbound((folder / row["file"]).read_bytes(), mailbox, "cli")
            ids[row["file"]] = inbound.id
        found = {r.id: (r.status, r.case_id, r.thread_reason) for r in db.session.scalars(select(InboundEmail))}
    return {name: found[i] for name, i in ids.items()}


def test_shuffled_replies_land_in_the_cases_the_manifest_names(make_app, tmp_path):
    app = make_app(CASE_NUMBER_PREFIX="CS-")
    rows = generate_corpus(tmp_path / "corpus", n=300, seed=7, token_template="[CS-{id}]")
    rng = random.Random(42)
    # Replies arrive in any order, even before the reply they answer; each thread's first mail
    # keeps its place among the first mails, so case numbers (which the [CS-n] tokens name) match.
    firsts = [r for r in rows if r["new_thread"]]
    order = list(firsts)
    for reply in (r for r in rows if not r["new_thread"]):
        after = next(i for i, r in enumerate(order) if r["thread"] == reply["thread"]) + 1
        order.insert(rng.randint(after, len(order)), reply)
    result = _ingest(app, tmp_path / "corpus", order)
    wrong = [(r["file"], r["kind"], r["expected_case_id"], result[r["file"]]) for r in rows
             if result[r["file"]][1] != r["expected_case_id"]]
    assert wrong == []
    assert all(status == InboundStatus.PROCESSED for status, _, _ in result.values())


def test_replies_before_their_first_mail_still_make_one_case_per_thread(make_app, tmp_path):
    app = make_app()
    rows = [r for r in generate_corpus(tmp_path / "corpus", n=300, seed=11) if r["kind"] != "reply_tok"]
    order = list(rows)
    random.Random(5).shuffle(order)
    result = _ingest(app, tmp_path / "corpus", order)
    case_of_thread: dict[int, int] = {}
    for row in rows:
        case_id = result[row["file"]][1]
        assert case_of_thread.setdefault(row["thread"], case_id) == case_id, row
    assert len(set(case_of_thread.values())) == len(case_of_thread)  # no two threads share a case
