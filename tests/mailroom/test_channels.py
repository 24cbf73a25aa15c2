"""The ways in: the ingest command, the HTTP endpoint, maildir, explain and retry from the command line."""
from __future__ import annotations

import json

from sqlalchemy import func, select

from helpdesk.extensions import db
from mailroom.models import InboundEmail, InboundStatus
from tests.mailroom.conftest import build_mail


def _count(status=None):
    query = select(func.count(InboundEmail.id))
    if status is not None:
        query = query.where(InboundEmail.status == status)
    return db.session.scalar(query)


def test_ingest_files_folders_and_stdin(app, runner, mailbox, tmp_path):
    folder = tmp_path / "drop"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.eml").write_bytes(build_mail(subject="from a file"))
    (folder / "sub" / "b.eml").write_bytes(build_mail(subject="from a subfolder"))
    single = tmp_path / "c.eml"
    single.write_bytes(build_mail(subject="single"))
    result = runner.invoke(args=["mailroom", "ingest", str(folder), str(single)])
    assert result.exit_code == 0, result.output
    assert "stored 3 new mail" in result.output
    result = runner.invoke(args=["mailroom", "ingest", "-"], input=build_mail(subject="piped"))
    assert result.exit_code == 0, result.output
    assert _count(InboundStatus.PROCESSED) == 4
    again = runner.invoke(args=["mailroom", "ingest", str(single)])
    assert "stored 0 new mail (1 already stored)" in again.output


def test_ingest_a_maildir_and_an_mbox(app, runner, mailbox, tmp_path):
    import mailbox as mailbox_lib

    md = mailbox_lib.Maildir(tmp_path / "Maildir")
    md.add(build_mail(subject="in maildir"))
    mb = mailbox_lib.mbox(tmp_path / "box.mbox")
    mb.add(build_mail(subject="mbox one"))
    mb.add(build_mail(subject="mbox two"))
    mb.flush()
    result = runner.invoke(args=["mailroom", "ingest", str(tmp_path / "box.mbox")])
    assert "stored 2 new mail" in result.output, result.output
    result = runner.invoke(args=["mailroom", "maildir", str(tmp_path / "Maildir")])
    assert "stored 1 new mail" in result.output, result.output
    assert list((tmp_path / "Maildir" / "new").iterdir()) == []


def test_explain_prints_the_decision_and_writes_nothing(app, runner, mailbox, tmp_path):
    path = tmp_path / "m.eml"
    path.write_bytes(build_mail(body="Hi\n\nOn Mon, Ann wrote:\n> old text", cc="bob@customer.example"))
    before = _count()
    result = runner.invoke(args=["mailroom", "explain", str(path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["decision"] == "open a new case"
    assert data["visible_text"] == "Hi"
    assert data["headers"]["cc"] == ["bob@customer.example"]
    text = runner.invoke(args=["mailroom", "explain", str(path)])
    assert "Decision:     open a new case" in text.output
    assert _count() == before


def test_retry_command_processes_failed_mail_again(app, runner, deliver, monkeypatch):
    from mailroom import parsing

    real = parsing.parse
    monkeypatch.setattr(parsing, "parse", lambda raw: (_ for _ in ()).throw(ValueError("boom")))
    failed = deliver(build_mail())
    assert failed.status == InboundStatus.FAILED
    monkeypatch.setattr(parsing, "parse", real)
    result = runner.invoke(args=["mailroom", "retry"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.get(InboundEmail, failed.id).status == InboundStatus.PROCESSED


def test_http_endpoint_takes_raw_mime_with_the_token(app, client, mailbox, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)  # machines send no CSRF token
    raw = build_mail(subject="over http")
    assert client.post("/mailroom/inbound", data=raw).status_code == 401
    assert client.post("/mailroom/inbound", data=raw, headers={"Authorization": "Bearer wrong"}).status_code == 401
    response = client.post("/mailroom/inbound", data=raw, headers={"Authorization": "Bearer test-token"})
    assert response.status_code == 202, response.get_data(as_text=True)
    inbound = db.session.get(InboundEmail, response.get_json()["id"])
    assert inbound.channel == "http" and inbound.status == InboundStatus.PROCESSED
    again = client.post("/mailroom/inbound", data=raw, headers={"Authorization": "Bearer test-token"})
    assert again.status_code == 200 and again.get_json()["created"] is False


def test_admin_page_lists_failed_and_quarantined_mail_with_actions(app, client, login, make_user, deliver):
    screened = deliver(build_mail(subject="Out of office", sender="ooo@customer.example"))
    agent = make_user()
    login(agent)
    assert client.get("/mailroom/admin").status_code == 403
    client.post("/logout")
    login(make_user(role="admin"))
    page = client.get("/mailroom/admin?status=screened")
    assert page.status_code == 200
    assert "Out of office" in page.get_data(as_text=True)
    partial = client.get("/mailroom/admin?status=screened", headers={"HX-Request": "true"})
    assert partial.get_data(as_text=True).lstrip().startswith('<div class="table-responsive" id="inbound-table">')
    assert client.get(f"/mailroom/admin/{screened.id}").status_code == 200
    response = client.post(f"/mailroom/admin/{screened.id}/block")
    assert response.status_code == 302
    response = client.post(f"/mailroom/admin/{screened.id}/release")
    db.session.expire_all()
    assert db.session.get(InboundEmail, screened.id).status == InboundStatus.PROCESSED


def test_admins_edit_rules_and_the_rules_apply(app, client, login, make_user, make_group, deliver, mailbox):
    from mailroom.models import MailRule

    group = make_group(name="Key accounts")
    login(make_user())
    assert client.get("/mailroom/admin/rules").status_code == 403
    client.post("/logout")
    login(make_user(role="admin"))
    assert client.get("/mailroom/admin/rules/new").status_code == 200
    bad = client.post("/mailroom/admin/rules/new", data={"name": "x", "conditions": "subject regex ([", "active": "1"})
    assert bad.status_code == 422 and "Bad pattern" in bad.get_data(as_text=True)
    response = client.post("/mailroom/admin/rules/new", data={
        "name": "ACME", "position": "1", "conditions": "from domain customer.example\nsubject contains urgent",
        "group_id": str(group.id), "priority": "4", "tags": "vip, acme", "active": "1"})
    assert response.status_code == 302, response.get_data(as_text=True)
    rule = db.session.scalar(select(MailRule).where(MailRule.name == "ACME"))
    assert rule.conditions == [{"field": "from", "op": "domain", "value": "customer.example"},
                               {"field": "subject", "op": "contains", "value": "urgent"}]
    page = client.get("/mailroom/admin/rules").get_data(as_text=True)
    assert "ACME" in page and "customer.example" in page
    assert client.get(f"/mailroom/admin/rules/{rule.id}").status_code == 200
    case = deliver(build_mail(subject="URGENT: down")).case
    assert case.group == group and case.priority.value == 4 and [t.name for t in case.tags] == ["acme", "vip"]
    assert deliver(build_mail(subject="not pressing")).case.group is None
    client.post(f"/mailroom/admin/rules/{rule.id}", data={"delete": "1", "name": "ACME", "conditions": "x y z"})
    assert db.session.scalar(select(func.count(MailRule.id))) == 0
