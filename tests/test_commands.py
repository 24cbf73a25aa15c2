"""`flask users create`, `flask demo seed` and `flask demo logins`."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from helpdesk.cases.models import Activity, Case, CustomField, Message, MessageKind
from helpdesk.extensions import db
from helpdesk.mail.models import EmailStatus, OutboundEmail
from helpdesk.people.models import Contact, Group, Organization, Role, User
from helpdesk.people.queries import user_by_email
from helpdesk.types import utcnow


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --- users create --------------------------------------------------------------------------


def test_users_create(runner):
    result = runner.invoke(args=["users", "create", "--email", "Root@Example.org", "--name", "Root",
                                 "--role", "admin", "--password", "a-long-password"])
    assert result.exit_code == 0, result.output
    assert "Created admin Root <root@example.org>" in result.output
    user = user_by_email("root@example.org")
    assert user.role == Role.ADMIN
    assert check_password_hash(user.password_hash, "a-long-password")


def test_users_create_defaults_to_agent(runner):
    result = runner.invoke(args=["users", "create", "--email", "a@example.org", "--name", "A",
                                 "--password", "a-long-password"])
    assert result.exit_code == 0, result.output
    assert user_by_email("a@example.org").role == Role.AGENT


def test_users_create_prints_each_error_and_fails(runner, make_user):
    taken = make_user()
    result = runner.invoke(args=["users", "create", "--email", taken.email, "--name", " ",
                                 "--password", "short"])
    assert result.exit_code == 1
    assert "email: A user with this email already exists." in result.output
    assert "name: Enter the person's name." in result.output
    assert "password: At least 10 characters." in result.output


def test_users_create_refuses_an_unknown_role(runner):
    result = runner.invoke(args=["users", "create", "--email", "a@example.org", "--name", "A",
                                 "--role", "boss", "--password", "a-long-password"])
    assert result.exit_code == 2
    assert user_by_email("a@example.org") is None


def test_users_create_needs_password_when_not_on_a_terminal(runner):
    result = runner.invoke(args=["users", "create", "--email", "a@example.org", "--name", "A"],
                           input="a-long-password\na-long-password\n")
    assert result.exit_code == 1
    assert "--password" in result.output
    assert user_by_email("a@example.org") is None


# --- demo ----------------------------------------------------------------------------------


def test_demo_seed_builds_a_believable_help_desk(runner):
    result = runner.invoke(args=["demo", "seed", "--cases", "30"])
    assert result.exit_code == 0, result.output
    assert _count(Case) == 30
    assert _count(Organization) == 12
    assert _count(Contact) >= 80
    assert db.session.scalar(select(func.count()).where(Contact.organization_id.is_(None))) >= 3
    assert sorted(db.session.scalars(select(Group.name))) == ["Billing", "Onboarding", "Support", "Technical"]
    assert sorted(db.session.scalars(select(CustomField.key))) == ["operating_system", "order_number"]

    roles = {u.email: u.role for u in db.session.scalars(select(User))}
    assert roles["admin@example.com"] == Role.ADMIN
    assert roles["manager@example.com"] == Role.MANAGER
    assert roles["agent@example.com"] == Role.AGENT
    assert list(roles.values()).count(Role.AGENT) == 6
    assert check_password_hash(user_by_email("agent@example.com").password_hash, "demo-password")
    for email in roles:
        assert email in result.output
    assert "demo-password" in result.output

    kinds = set(db.session.scalars(select(Message.kind)))
    assert {MessageKind.CUSTOMER, MessageKind.REPLY} <= kinds
    assert len(set(db.session.scalars(select(Case.status)))) >= 3


def test_demo_seed_spreads_consistent_timestamps(runner):
    assert runner.invoke(args=["demo", "seed", "--cases", "30"]).exit_code == 0
    now = utcnow()
    cases = db.session.scalars(select(Case)).all()
    assert min(c.created_at for c in cases) < now - timedelta(days=7)
    for case in cases:
        assert now - timedelta(days=92) < case.created_at <= case.updated_at <= now
        activities = db.session.scalars(select(Activity).where(Activity.case_id == case.id)).all()
        assert all(case.created_at <= a.created_at <= case.updated_at for a in activities)
        assert max(a.case_version for a in activities) == case.version
        for message in case.messages:
            assert case.created_at <= message.created_at <= case.updated_at
        if case.first_response_at:
            assert case.first_response_at >= case.created_at
    # The demo's replies are history: nothing waits to be mailed to invented customers.
    assert _count(OutboundEmail) > 0
    assert set(db.session.scalars(select(OutboundEmail.status))) == {EmailStatus.SENT}


def test_demo_seed_is_deterministic(runner):
    def opened() -> list[tuple]:
        rows = db.session.execute(select(Case.subject, Contact.email, Case.channel, Case.priority)
                                  .join(Contact, Case.contact_id == Contact.id).order_by(Case.id)).all()
        return [tuple(r) for r in rows]

    assert runner.invoke(args=["demo", "seed", "--cases", "6", "--seed", "7"]).exit_code == 0
    first = opened()
    assert runner.invoke(args=["demo", "seed", "--cases", "6", "--seed", "7"]).exit_code == 0
    assert opened() == first * 2
    assert runner.invoke(args=["demo", "seed", "--cases", "6", "--seed", "8"]).exit_code == 0
    assert opened()[12:] != first


def test_demo_seed_if_empty_is_a_no_op_the_second_time(runner):
    assert runner.invoke(args=["demo", "seed", "--cases", "30", "--if-empty"]).exit_code == 0
    counts = (_count(Case), _count(Contact), _count(User), _count(Message))
    result = runner.invoke(args=["demo", "seed", "--cases", "30", "--if-empty"])
    assert result.exit_code == 0
    assert "nothing seeded" in result.output
    assert (_count(Case), _count(Contact), _count(User), _count(Message)) == counts


def test_demo_seed_again_adds_cases_and_reuses_people(runner):
    assert runner.invoke(args=["demo", "seed", "--cases", "3"]).exit_code == 0
    people = (_count(Contact), _count(User), _count(Organization))
    result = runner.invoke(args=["demo", "seed", "--cases", "2"])
    assert result.exit_code == 0, result.output
    assert _count(Case) == 5
    assert (_count(Contact), _count(User), _count(Organization)) == people


def test_demo_seed_refuses_production(runner, app):
    app.config["ENV"] = "production"
    try:
        result = runner.invoke(args=["demo", "seed", "--cases", "1"])
    finally:
        app.config["ENV"] = "testing"
    assert result.exit_code == 1
    assert _count(User) == 0


def test_demo_logins(runner):
    result = runner.invoke(args=["demo", "logins"])
    assert "flask demo seed" in result.output
    runner.invoke(args=["demo", "seed", "--cases", "0"])
    result = runner.invoke(args=["demo", "logins"])
    assert result.exit_code == 0
    assert "admin@example.com" in result.output and "demo-password" in result.output
    assert result.output.count("@example.com") == 8
