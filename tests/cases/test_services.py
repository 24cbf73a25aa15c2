import io

import pytest
from sqlalchemy import select

from helpdesk.cases import services
from helpdesk.cases.models import Activity, Blob, Case, CustomField, FieldType, Message, MessageKind, Priority, Status
from helpdesk.errors import Conflict, PermissionDenied, TooLarge, ValidationFailed
from helpdesk.extensions import db


def history(case):
    return [(a.action, a.field, a.old, a.new) for a in db.session.scalars(
        select(Activity).where(Activity.case_id == case.id).order_by(Activity.id))]


def test_open_case_numbers_it_with_the_prefix_and_records_history(app, make_user, make_case, monkeypatch):
    monkeypatch.setitem(app.config, "CASE_NUMBER_PREFIX", "HD-")
    agent = make_user()
    case = make_case(agent, tags=["Printer", "printer", " floor 3 "])
    assert case.number == f"HD-{case.id}"
    assert case.status == Status.NEW and case.is_open
    assert [t.name for t in case.tags] == ["floor 3", "printer"]
    assert case.followers == [agent]
    assert case.messages[0].kind == MessageKind.CUSTOMER
    assert case.messages[0].author_contact == case.contact
    assert history(case)[0][0] == "opened"


def test_open_case_names_every_bad_field_and_writes_nothing(app, make_user):
    db.session.add(CustomField(key="os", label="Operating system", type=FieldType.CHOICE, choices=["Linux"], required=True))
    db.session.flush()
    before = db.session.scalar(select(db.func.count(Case.id)))
    with pytest.raises(ValidationFailed) as err:
        services.open_case(make_user(), subject=" ", body="", custom_fields={"os": "BeOS"})
    assert set(err.value.errors) == {"subject", "body", "custom_os"}
    assert db.session.scalar(select(db.func.count(Case.id))) == before


def test_reply_is_public_sets_first_response_and_waits_for_customer(app, make_user, make_case, tmp_path):
    agent = make_user()
    case = make_case(agent, assignee=agent)
    message = services.reply_to_case(agent, case, body="Please restart it.\n\nThen tell me.")
    assert message.kind == MessageKind.REPLY and message.is_public
    assert message.body_html == "<p>Please restart it.</p><p>Then tell me.</p>"
    assert case.first_response_at == message.created_at
    assert case.status == Status.WAIT_CUSTOMER
    assert message.email_message_id  # an outbound email was queued for the contact


def test_note_is_internal_and_does_not_count_as_a_response(app, make_user, make_case):
    agent = make_user()
    case = make_case(agent)
    note = services.add_note(agent, case, body="Customer is on the old firmware")
    assert not note.is_public
    assert case.first_response_at is None


def test_html_from_outside_is_sanitized(app, make_case):
    case = make_case(None, body_html='<p onclick="x()">Hi<script>alert(1)</script><a href="javascript:alert(1)">l</a></p>', body="")
    html = case.messages[0].body_html
    assert "<script" not in html and "onclick" not in html and "javascript:" not in html
    assert "Hi" in html


def test_customer_message_reopens_a_waiting_case(app, make_user, make_case):
    agent = make_user()
    case = make_case(agent, assignee=agent)
    services.reply_to_case(agent, case, body="Try this")
    services.add_customer_message(case.contact, case, body="Still broken")
    assert case.status == Status.OPEN


def test_invalid_transition_is_refused_naming_the_field(app, make_user, make_case):
    agent = make_user()
    case = make_case(agent)
    services.change_status(agent, case, Status.RESOLVED)
    with pytest.raises(ValidationFailed) as err:
        services.change_status(agent, case, Status.WAIT_CUSTOMER)
    assert "status" in err.value.errors


def test_only_managers_reopen_closed_cases(app, make_user, make_case):
    agent, manager = make_user(), make_user("manager")
    case = make_case(agent)
    services.change_status(agent, case, Status.CLOSED)
    with pytest.raises(PermissionDenied):
        services.change_status(agent, case, Status.OPEN)
    services.change_status(manager, case, Status.OPEN)
    assert case.status == Status.OPEN and case.closed_at is None


def test_stale_version_is_a_conflict_that_says_what_changed(app, make_user, make_case):
    alice, bob = make_user(name="Alice"), make_user(name="Bob")
    case = make_case(alice)
    seen = case.version
    services.change_priority(bob, case, Priority.URGENT, version=seen)
    with pytest.raises(Conflict) as err:
        services.change_status(alice, case, Status.OPEN, version=seen)
    assert err.value.changes == ["Bob changed priority from Normal to Urgent"]
    assert case.status == Status.NEW


def test_update_case_is_all_or_nothing(app, make_user, make_case):
    agent = make_user()
    case = make_case(agent)
    with pytest.raises(ValidationFailed) as err:
        services.update_case(agent, case, {"priority": "4", "assignee_id": "999999"})
    assert set(err.value.errors) == {"assignee_id"}
    assert case.priority == Priority.NORMAL


def test_assigning_marks_assigned_and_adds_the_assignee_as_follower(app, make_user, make_group, make_case):
    agent, other = make_user(), make_user()
    group = make_group(members=[other])
    case = make_case(agent)
    services.assign_case(agent, case, assignee=other, group=group)
    assert case.status == Status.ASSIGNED and case.group == group
    assert other in case.followers
    services.assign_case(agent, case, assignee=None, keep_group=True)
    assert case.status == Status.NEW and case.group == group


def test_merge_moves_conversation_followers_and_history(app, make_user, make_case):
    agent, follower = make_user(), make_user()
    source, target = make_case(agent), make_case(agent)
    services.follow_case(follower, source)
    services.add_note(agent, source, body="source note")
    source_messages = {m.id for m in source.messages}
    services.merge_cases(agent, source, target)
    db.session.expire_all()
    assert source_messages <= {m.id for m in target.messages}
    assert follower in target.followers
    assert source.merged_into == target and source.status == Status.CLOSED
    assert ("merged_in", None, None, None) in history(target)
    assert any(a[0] == "opened" for a in history(target)[1:]) or len([a for a in history(target) if a[0] == "opened"]) == 2
    with pytest.raises(ValidationFailed):
        services.add_note(agent, source, body="too late")


def test_merge_into_itself_is_refused(app, make_user, make_case):
    agent = make_user()
    case = make_case(agent)
    with pytest.raises(ValidationFailed, match="itself"):
        services.merge_cases(agent, case, case)


def test_split_moves_one_message_into_a_new_case(app, make_user, make_case):
    agent = make_user()
    case = make_case(agent)
    second = services.add_customer_message(case.contact, case, body="Also, my VPN is down")
    new_case = services.split_message(agent, second, "VPN is down")
    db.session.expire_all()
    assert [m.id for m in new_case.messages] == [second.id]
    assert second.id not in [m.id for m in case.messages]
    assert new_case.contact == case.contact and new_case.subject == "VPN is down"


def test_attachments_are_stored_once_by_content_and_typed_by_content(app, make_user, make_case):
    agent = make_user()
    case = make_case(agent)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    services.add_note(agent, case, body="two copies", uploads=[
        services.Upload("screenshot.txt", io.BytesIO(png)), services.Upload("copy.png", io.BytesIO(png))])
    blobs = db.session.scalars(select(Blob)).all()
    assert len(blobs) == 1 and blobs[0].content_type == "image/png"
    files = [p for p in (app.config["ATTACHMENT_DIR"] and __import__("pathlib").Path(app.config["ATTACHMENT_DIR"]).rglob("*")) if p.is_file()]
    assert len(files) == 1


def test_oversize_attachment_is_refused(app, make_user, make_case, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_ATTACHMENT_BYTES", 1000)
    agent = make_user()
    case = make_case(agent)
    with pytest.raises(TooLarge):
        services.add_note(agent, case, body="big", uploads=[services.Upload("big.bin", io.BytesIO(b"x" * 5000))])


def test_history_is_append_only_in_order(app, make_user, make_case):
    agent = make_user()
    case = make_case(agent)
    services.change_priority(agent, case, Priority.HIGH)
    services.set_tags(agent, case, ["vip"])
    services.change_status(agent, case, Status.OPEN)
    assert [h[1] for h in history(case)[1:]] == ["priority", "tags", "status"]
    versions = [a.case_version for a in db.session.scalars(select(Activity).where(Activity.case_id == case.id).order_by(Activity.id))]
    assert versions == sorted(versions)


def test_plain_text_keeps_its_line_breaks_and_escapes_markup(app, make_case):
    case = make_case(None, body="Regards,\nIsla <admin@x>\n\nP.S. a\\b")
    assert case.messages[0].body_html == "<p>Regards,<br>Isla &lt;admin@x&gt;</p><p>P.S. a\\b</p>"


def test_a_change_to_the_same_value_is_no_change(app, make_user, make_case):
    agent = make_user()
    case = make_case(agent)
    version, updated = case.version, case.updated_at
    services.change_status(agent, case, Status.NEW)
    services.change_priority(agent, case, Priority.NORMAL)
    db.session.flush()
    assert (case.version, case.updated_at) == (version, updated)
