"""`flask users create`, `flask demo seed` and `flask demo logins`."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from helpdesk.assets.models import Asset, Product
from helpdesk.cases.models import Activity, Case, CustomField, Message, MessageKind
from helpdesk.chat.models import CannedReply, ChatTopic
from helpdesk.contracts.models import ContractStatus, ServiceContract, TimeLog, TrackingUnit
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
        # A customer's rating is history of its own (no case version): the story's last change is.
        assert max(a.case_version for a in activities if a.case_version is not None) == case.version
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

    def catalog() -> list[tuple]:
        assets = db.session.execute(select(Asset.serial_number, Product.code, Asset.contact_id, Asset.organization_id,
                                           Asset.warranty_end, Asset.status).join(Product).order_by(Asset.id)).all()
        contracts = db.session.execute(select(ServiceContract.name, ServiceContract.total_units, ServiceContract.end_date)
                                       .order_by(ServiceContract.id)).all()
        return [tuple(r) for r in assets + contracts]

    def logged() -> list[tuple]:
        rows = db.session.execute(select(Case.subject, TimeLog.minutes, TimeLog.billable, TimeLog.note)
                                  .join(Case, TimeLog.case_id == Case.id).order_by(TimeLog.id)).all()
        return [tuple(r) for r in rows]

    assert runner.invoke(args=["demo", "seed", "--cases", "6", "--seed", "7"]).exit_code == 0
    first, first_catalog, first_logs = opened(), catalog(), logged()
    assert len(first_catalog) == 40 + 8
    assert runner.invoke(args=["demo", "seed", "--cases", "6", "--seed", "7"]).exit_code == 0
    assert opened() == first * 2
    assert catalog() == first_catalog  # found again, not added twice
    assert logged()[:len(first_logs)] == first_logs
    assert runner.invoke(args=["demo", "seed", "--cases", "6", "--seed", "8"]).exit_code == 0
    assert opened()[12:] != first
    assert catalog()[:40] == first_catalog[:40] and len(catalog()) == 40 + 40 + 8  # new serials, same contracts


def test_demo_seed_adds_products_assets_contracts_time_and_chat(runner):
    result = runner.invoke(args=["demo", "seed", "--cases", "60"])
    assert result.exit_code == 0, result.output
    assert "40 assets of 6 products and 8 service contracts" in result.output
    today = utcnow().date()

    assert _count(Product) == 6
    assets = db.session.scalars(select(Asset)).all()
    assert len(assets) == 40 and len({a.serial_number for a in assets}) == 40
    assert all(a.contact_id or a.organization_id for a in assets)
    assert any(a.warranty_end >= today for a in assets) and any(a.warranty_end < today for a in assets)

    contracts = {c.name.split(": ", 1)[1]: c for c in db.session.scalars(select(ServiceContract))}
    assert len(contracts) == 8
    assert {c.tracking_unit for c in contracts.values()} == set(TrackingUnit)
    assert contracts["Support 2025"].status == ContractStatus.EXPIRED
    assert contracts["Managed network"].status == ContractStatus.ACTIVE
    assert contracts["Managed network"].end_date <= today + timedelta(days=30)
    assert contracts["Priority support"].status == ContractStatus.EXHAUSTED
    assert contracts["Priority support"].used_units >= contracts["Priority support"].total_units

    # New cases of a customer with a contract count against it, and their logged time uses it up.
    linked = db.session.scalars(select(Case).where(Case.service_contract_id.is_not(None))).all()
    assert linked and all(c.service_contract.organization_id == c.organization_id for c in linked)
    logs = db.session.scalars(select(TimeLog)).all()
    assert logs and all(log.stopped_at is not None and log.minutes > 0 for log in logs)
    hours = contracts["Premium support 2026"]
    billable = sum(log.minutes for log in logs if log.billable and log.case.service_contract_id == hours.id)
    assert hours.used_minutes == billable
    for log in logs:  # dated with the case's invented clock, not today
        assert log.case.created_at <= log.created_at <= log.case.updated_at

    topics = {t.name: t.group.name for t in db.session.scalars(select(ChatTopic))}
    assert topics == {"Technical help": "Technical", "Billing and invoices": "Billing"}
    assert _count(CannedReply) == 3


def test_demo_seed_runs_the_seeders_edge_packages_register(runner, app):
    calls = []

    def seeder(rng):
        calls.append((rng.random(), _count(Case)))

    app.extensions.setdefault("demo_seeders", []).append(seeder)
    try:
        assert runner.invoke(args=["demo", "seed", "--cases", "2", "--seed", "3"]).exit_code == 0
        assert runner.invoke(args=["demo", "seed", "--cases", "2", "--seed", "3"]).exit_code == 0
        assert runner.invoke(args=["demo", "seed", "--cases", "2", "--seed", "4"]).exit_code == 0
    finally:
        app.extensions["demo_seeders"].remove(seeder)
    # After the core's data, with a generator that depends on --seed only.
    assert [n for _, n in calls] == [2, 4, 6]
    assert calls[0][0] == calls[1][0] != calls[2][0]


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
