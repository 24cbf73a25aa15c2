"""Every real-world mail of ../shared/corpora/email goes through the pipeline and ends somewhere known."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from helpdesk.extensions import db
from mailroom.fetchers.files import messages_in
from mailroom.models import InboundEmail, InboundStatus
from mailroom.services import store_inbound
from tests.mailroom.conftest import CORPUS

FINAL = {InboundStatus.PROCESSED, InboundStatus.SCREENED, InboundStatus.DUPLICATE, InboundStatus.FAILED}


def _run(paths):
    outcome = {}
    for path in paths:
        for label, raw in messages_in(path):
            inbound, _ = store_inbound(raw, None, "cli")
            outcome[label] = inbound.id
    db.session.expire_all()
    rows = {r.id: r for r in db.session.scalars(db.select(InboundEmail).where(InboundEmail.id.in_(set(outcome.values()))))}
    return {label: rows[i] for label, i in outcome.items()}


def test_every_corpus_mail_ends_processed_screened_duplicate_or_failed_with_a_reason(app, mailbox):
    outcome = _run([CORPUS])
    assert len(outcome) > 1000
    for label, row in outcome.items():
        assert row.status in FINAL, label
        if row.status == InboundStatus.FAILED:
            assert row.reason and row.traceback, label
    counts = Counter(r.status.value for r in {r.id: r for r in outcome.values()}.values())
    print(f"corpus: {len(outcome)} files, {dict(counts)}")
    assert counts["failed"] == 0


def test_set_of_emails_bounces_and_auto_replies_are_screened_and_real_mail_is_not(app, mailbox):
    base = CORPUS / "set-of-emails" / "maildir"
    outcome = _run([base / "bsd", base / "not"])
    tally = Counter()
    for label, row in outcome.items():
        name = Path(label).name
        kind = "not" if "/not/" in label else "rfc3834" if name.startswith("rfc3834") else "arf" if name.startswith("arf") else "bounce"
        tally[kind, row.status == InboundStatus.SCREENED] += 1
    report = {k: f"{tally[k, True]}/{tally[k, True] + tally[k, False]} screened" for k in ("bounce", "rfc3834", "arf", "not")}
    print("set-of-emails:", report)
    assert tally["rfc3834", False] == 0 and tally["arf", False] == 0
    assert tally["bounce", True] >= 0.98 * (tally["bounce", True] + tally["bounce", False])
    # maildir/not holds two person's mails and one real auto-reply (Auto-Submitted: auto-replied).
    assert tally["not", False] == 2
