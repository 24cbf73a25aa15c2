import io

import pytest
from sqlalchemy import select

from helpdesk.cases import services
from helpdesk.cases.models import Case, Priority, SavedView, Status
from helpdesk.extensions import db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def agent(make_user):
    return make_user(name="Ada Agent")


@pytest.fixture
def signed_in(client, login, agent):
    return login(agent)


@pytest.mark.parametrize("url", ["/cases", "/cases/board", "/cases/new", "/cases/1"])
def test_anonymous_is_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_anonymous_htmx_request_gets_hx_redirect(client):
    response = client.get("/cases", headers=HTMX)
    assert response.status_code == 401 and "/login" in response.headers["HX-Redirect"]


def test_my_open_queue_lists_my_cases_only(signed_in, agent, make_user, make_case):
    mine = make_case(agent, assignee=agent, subject="Mine: scanner offline")
    other = make_case(agent, assignee=make_user(), subject="Theirs: toner empty")
    db.session.commit()
    html = signed_in.get("/cases?queue=mine").get_data(as_text=True)
    assert mine.subject in html and other.subject not in html


def test_filters_narrow_the_queue(signed_in, agent, make_case):
    urgent = make_case(agent, subject="Server room flooded", priority=Priority.URGENT, tags=["datacenter"])
    calm = make_case(agent, subject="Change my display name", priority=Priority.LOW)
    html = signed_in.get("/cases?queue=open&priority=4").get_data(as_text=True)
    assert urgent.subject in html and calm.subject not in html
    html = signed_in.get("/cases?queue=open&tag=datacenter").get_data(as_text=True)
    assert urgent.subject in html and calm.subject not in html
    html = signed_in.get("/cases?queue=open&q=display").get_data(as_text=True)
    assert calm.subject in html and urgent.subject not in html
    html = signed_in.get(f"/cases?queue=open&q={urgent.number}").get_data(as_text=True)
    assert urgent.subject in html and calm.subject not in html


def test_htmx_list_request_returns_only_the_partial(signed_in, agent, make_case):
    make_case(agent, subject="Partial please")
    response = signed_in.get("/cases?queue=open", headers={**HTMX, "HX-Target": "case-list"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Partial please" in html
    assert html.lstrip().startswith('<div id="case-list">') and "<html" not in html
    assert "HX-Request" in response.headers["Vary"]
    full = signed_in.get("/cases?queue=open").get_data(as_text=True)
    assert "<html" in full and 'id="case-list"' in full


def test_keyset_pages_cover_every_case_once(app, signed_in, agent, make_case, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 3)
    made = {make_case(agent, subject=f"Paged case {i}").number for i in range(8)}
    seen, url = [], "/cases?queue=open"
    import re
    while url:
        html = signed_in.get(url).get_data(as_text=True)
        seen += [n for n in re.findall(r">(CS-\d+)</a>", html) if n in made]
        nxt = re.search(r'href="([^"]*cursor=[^"]*)" hx-get', html)
        url = nxt.group(1).replace("&amp;", "&") if nxt else None
    assert sorted(seen) == sorted(made) and len(seen) == len(set(seen))


def test_case_page_shows_conversation_and_history(signed_in, agent, make_case):
    case = make_case(agent)
    services.add_note(agent, case, body="Secret internal remark")
    services.change_priority(agent, case, Priority.HIGH)
    db.session.commit()
    html = signed_in.get(f"/cases/{case.id}").get_data(as_text=True)
    assert case.subject in html and "Secret internal remark" in html and "Internal note" in html
    assert "priority" in html and "High" in html


def test_unknown_case_is_404(signed_in):
    assert signed_in.get("/cases/999999").status_code == 404
    assert signed_in.post("/cases/999999/reply", data={"body": "x"}).status_code == 404


def test_reply_without_js_redirects_and_with_htmx_returns_workspace(signed_in, agent, make_case):
    case = make_case(agent, assignee=agent)
    response = signed_in.post(f"/cases/{case.id}/reply", data={"body": "Restart the router", "version": case.version})
    assert response.status_code == 302
    db.session.expire_all()
    assert case.status == Status.WAIT_CUSTOMER
    response = signed_in.post(f"/cases/{case.id}/note", data={"body": "Waiting on ISP", "version": case.version}, headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<div id="case-workspace"') and "Waiting on ISP" in html


def test_empty_reply_is_422_naming_the_field(signed_in, agent, make_case):
    case = make_case(agent)
    response = signed_in.post(f"/cases/{case.id}/reply", data={"body": "  ", "version": case.version})
    assert response.status_code == 422
    assert "Write something or attach a file." in response.get_data(as_text=True)


def test_stale_edit_is_409_and_says_what_changed(signed_in, agent, make_user, make_case):
    case = make_case(agent)
    stale = case.version
    services.change_priority(make_user(name="Bob Other"), case, Priority.URGENT)
    db.session.commit()
    response = signed_in.post(f"/cases/{case.id}/update", data={"status": "open", "version": stale})
    assert response.status_code == 409
    text = response.get_data(as_text=True)
    assert "Bob Other changed priority from Normal to Urgent" in text
    db.session.expire_all()
    assert case.status == Status.NEW


def test_invalid_transition_is_422_naming_status(signed_in, agent, make_case):
    case = make_case(agent)
    services.change_status(agent, case, Status.RESOLVED)
    db.session.commit()
    response = signed_in.post(f"/cases/{case.id}/update", data={"status": "wait_customer", "version": case.version})
    assert response.status_code == 422
    assert "cannot go from Resolved to Wait for customer" in response.get_data(as_text=True)


def test_oversize_upload_is_413_with_a_message(app, signed_in, agent, make_case, monkeypatch):
    case = make_case(agent)
    monkeypatch.setitem(app.config, "MAX_ATTACHMENT_BYTES", 1024)
    response = signed_in.post(f"/cases/{case.id}/note", data={
        "body": "log attached", "version": case.version, "attachments": (io.BytesIO(b"x" * 4096), "huge.log")},
        content_type="multipart/form-data")
    assert response.status_code == 413 and "at most" in response.get_data(as_text=True)
    db.session.expire_all()
    assert len(case.messages) == 1


def test_attachment_download_sniffs_type_and_checks_name(signed_in, agent, make_case):
    case = make_case(agent)
    signed_in.post(f"/cases/{case.id}/note", data={
        "body": "see file", "version": case.version, "attachments": (io.BytesIO(b"%PDF-1.4 fake"), "report.txt")},
        content_type="multipart/form-data")
    db.session.expire_all()
    attachment = case.messages[-1].attachments[0]
    response = signed_in.get(f"/attachments/{attachment.id}/report.txt")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert signed_in.get(f"/attachments/{attachment.id}/other.txt").status_code == 404


def test_new_case_form_creates_a_case_and_contact(signed_in):
    response = signed_in.post("/cases/new", data={
        "contact_email": "New.Person@Customer.example", "contact_name": "New Person", "subject": "Cannot log in",
        "body": "Password reset mail never arrives", "priority": "3", "channel": "phone", "tags": "login, email"})
    assert response.status_code == 302
    case = db.session.scalar(select(Case).where(Case.subject == "Cannot log in"))
    assert case.contact.email == "new.person@customer.example"
    assert case.priority == Priority.HIGH and sorted(t.name for t in case.tags) == ["email", "login"]


def test_new_case_form_names_the_wrong_fields(signed_in):
    response = signed_in.post("/cases/new", data={"contact_email": "not-an-email", "subject": "", "body": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter an email address" in html


def test_kanban_move_changes_status_and_refuses_stale_cards(signed_in, agent, make_case):
    case = make_case(agent)
    db.session.commit()
    board = signed_in.get("/cases/board?queue=open").get_data(as_text=True)
    assert f'id="card-{case.id}"' in board
    response = signed_in.post(f"/cases/{case.id}/move", data={"status": "open", "version": case.version}, headers=HTMX)
    assert response.status_code == 200 and 'data-status="open"' in response.get_data(as_text=True)
    stale = signed_in.post(f"/cases/{case.id}/move", data={"status": "resolved", "version": 1}, headers=HTMX)
    assert stale.status_code == 409


def test_bulk_actions_apply_to_all_selected_or_none(signed_in, agent, make_case):
    a, b = make_case(agent), make_case(agent)
    services.change_status(agent, b, Status.CLOSED)
    db.session.commit()
    response = signed_in.post("/cases/bulk", data={"case_ids": [a.id, b.id], "action": "status", "status": "wait_customer"})
    assert response.status_code == 422
    db.session.expire_all()
    assert a.status == Status.NEW  # nothing half-written
    response = signed_in.post("/cases/bulk", data={"case_ids": [a.id, b.id], "action": "tag", "tag": "vip"})
    assert response.status_code == 302
    db.session.expire_all()
    assert [t.name for t in a.tags] == ["vip"] and [t.name for t in b.tags] == ["vip"]


def test_bulk_merge_merges_into_the_oldest(signed_in, agent, make_case):
    a, b = make_case(agent), make_case(agent)
    signed_in.post("/cases/bulk", data={"case_ids": [b.id, a.id], "action": "merge"})
    db.session.expire_all()
    assert b.merged_into_id == a.id


def test_merge_and_split_from_the_case_page(signed_in, agent, make_case):
    a, b = make_case(agent), make_case(agent)
    response = signed_in.post(f"/cases/{b.id}/merge", data={"target": a.number})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/cases/{a.id}")
    assert signed_in.post(f"/cases/{b.id}/merge", data={"target": "CS-0"}).status_code == 422
    db.session.expire_all()
    moved = [m for m in a.messages if m.id != a.messages[0].id][0]
    response = signed_in.post(f"/messages/{moved.id}/split", data={"subject": "Back on its own"})
    assert response.status_code == 302
    assert db.session.scalar(select(Case).where(Case.subject == "Back on its own")) is not None


def test_presence_tells_who_else_is_here(client, login, app, agent, make_user, make_case):
    case = make_case(agent)
    other = make_user(name="Grace Other")
    db.session.commit()
    login(agent)
    second = app.test_client()
    login(other, c=second)
    second.post(f"/cases/{case.id}/presence", data={"replying": "1"}, headers=HTMX)
    html = client.post(f"/cases/{case.id}/presence", data={"replying": "0"}, headers=HTMX).get_data(as_text=True)
    assert "Grace Other is writing a reply to this case" in html


def test_saved_views_belong_to_their_agent(signed_in, agent, make_user, client, login, app):
    signed_in.post("/views", data={"name": "Urgent open", "query": "queue=open&priority=4"})
    view = db.session.scalar(select(SavedView).where(SavedView.name == "Urgent open"))
    assert view.user_id == agent.id
    assert "Urgent open" in signed_in.get("/cases").get_data(as_text=True)
    intruder = app.test_client()
    login(make_user(), c=intruder)
    assert intruder.post(f"/views/{view.id}/delete").status_code == 404


def test_follow_and_unfollow(signed_in, agent, make_user, make_case):
    case = make_case(make_user())
    signed_in.post(f"/cases/{case.id}/follow", data={"follow": "1"})
    db.session.expire_all()
    assert agent in case.followers
    signed_in.post(f"/cases/{case.id}/follow", data={"follow": "0"})
    db.session.expire_all()
    assert agent not in case.followers


def test_tag_filter_works_for_rare_and_common_tags(signed_in, agent, make_case, monkeypatch):
    from helpdesk.cases import queries

    tagged = [make_case(agent, subject=f"Tagged {i}", tags=["outage"]) for i in range(3)]
    plain = make_case(agent, subject="Untagged one")
    for limit in (100, 1):  # a list of ids, then the subquery
        monkeypatch.setattr(queries, "TAG_LIST_LIMIT", limit)
        html = signed_in.get("/cases?queue=open&tag=Outage").get_data(as_text=True)
        assert all(c.subject in html for c in tagged) and plain.subject not in html
    assert "No cases here" in signed_in.get("/cases?queue=open&tag=nonexistent").get_data(as_text=True)
