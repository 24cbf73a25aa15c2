"""Command-line groups of the core: `flask users ...` and `flask demo ...`."""
from __future__ import annotations

import random
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import event, func, select, update

import helpdesk.types
from helpdesk.admin.services import create_custom_field
from helpdesk.assets import services as asset_services
from helpdesk.assets.models import Asset, AssetStatus, Product
from helpdesk.cases import services as case_services
from helpdesk.cases.models import (
    Activity, Case, Channel, CustomField, FieldType, Message, MessageKind, Priority, Status,
)
from helpdesk.chat import services as chat_services
from helpdesk.chat.models import CannedReply, ChatTopic
from helpdesk.config import DEV_ENVIRONMENTS
from helpdesk.contracts import services as contract_services
from helpdesk.contracts.models import ContractStatus, ServiceContract
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.insights import demo as insights_demo
from helpdesk.mail.models import EmailStatus, OutboundEmail
from helpdesk.people import services as people_services
from helpdesk.people.models import Contact, Group, Organization, Role, User
from helpdesk.types import utcnow

users_cli = AppGroup("users", help="Manage staff accounts.")
demo_cli = AppGroup("demo", help="Fill a development or demo instance with believable data.")


def init_app(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
    from helpdesk.insights.commands import insights_cli

    app.cli.add_command(insights_cli)


def _fail(errors: dict[str, str]) -> None:
    db.session.rollback()
    for field, message in errors.items():
        click.echo(f"{field}: {message}", err=True)
    raise click.exceptions.Exit(1)


# --- users ---------------------------------------------------------------------------------


@users_cli.command("create")
@click.option("--email", required=True, help="The address the user signs in with.")
@click.option("--name", required=True, help="The name colleagues and customers see.")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.AGENT.value, show_default=True)
@click.option("--password", help="Prompted for (twice) when left out on a terminal.")
def create_user_command(email: str, name: str, role: str, password: str | None) -> None:
    """Create a staff account."""
    if password is None:
        if not sys.stdin.isatty():
            _fail({"password": "Give --password when the input is not a terminal."})
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = people_services.create_user(None, email=email, name=name, password=password, role=role)
    except ValidationFailed as exc:
        _fail(exc.errors)
    db.session.commit()
    click.echo(f"Created {user.role.value} {user.name} <{user.email}>.")


# --- demo data -----------------------------------------------------------------------------

DEMO_PASSWORD = "demo-password"
BATCH = 50


@demo_cli.command("seed")
@click.option("--cases", "case_count", type=click.IntRange(0, 100_000), default=500, show_default=True,
              help="How many cases to open.")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already holds a case.")
@click.option("--seed", "seed", type=int, default=1, show_default=True, help="The same seed gives the same data.")
def seed_command(case_count: int, if_empty: bool, seed: int) -> None:
    """Organizations, contacts, staff, groups, custom fields and cases over the last 90 days."""
    env = current_app.config["ENV"]
    if env not in DEV_ENVIRONMENTS:
        click.echo(f"Demo data has well-known passwords; refusing on a {env!r} instance "
                   "(set HELPDESK_ENV=demo or development).", err=True)
        raise click.exceptions.Exit(1)
    if if_empty and db.session.scalar(select(Case.id).limit(1)) is not None:
        click.echo("The database already holds cases; nothing seeded.")
        return
    try:
        seeder = _Seeder(random.Random(seed))
        seeder.people()
        seeder.catalog()
        insights_demo.ensure_sla_policies()
        db.session.commit()
        for done in seeder.cases(case_count):
            db.session.commit()
            click.echo(f"  {done}/{case_count} cases")
        seeder.use_up_contract()
        db.session.commit()
        insights_demo.seed_history(random.Random(f"{seed}:insights"))
        db.session.commit()
        # Edge packages (the knowledge base, ...) add their own demo data without the core importing
        # them: their init_app appends fn(rng) to app.extensions["demo_seeders"].
        for fn in current_app.extensions.get("demo_seeders", []):
            fn(random.Random(f"{seed}:{getattr(fn, '__module__', '')}.{getattr(fn, '__name__', '')}"))
            db.session.commit()
        insights_demo.rebuild_facts()  # the dashboards show everything seeded at once
    except ValidationFailed as exc:
        _fail(exc.errors)
    click.echo(f"Seeded {len(seeder.orgs)} organizations, {len(seeder.contacts)} contacts, "
               f"{len(seeder.users)} staff and {case_count} cases; {len(seeder.assets)} assets of "
               f"{len(seeder.products)} products and {len(seeder.contracts)} service contracts.")
    _print_logins()


@demo_cli.command("logins")
def logins_command() -> None:
    """Print the demo sign-ins again."""
    _print_logins()


def _print_logins() -> None:
    emails = [u[0] for u in DEMO_USERS]
    users = {u.email: u for u in db.session.scalars(select(User).where(User.email.in_(emails)))}
    if not users:
        click.echo("No demo users yet: run `flask demo seed`.")
        return
    rows = [("Role", "Email", "Password", "Name")]
    for email, *_ in DEMO_USERS:
        user = users.get(email)
        if user is None:
            continue
        password = DEMO_PASSWORD if user.active else "(deactivated)"
        rows.append((user.role.label, user.email, password, user.name))
    for contact in db.session.scalars(select(Contact).where(Contact.portal_enabled.is_(True)).order_by(Contact.id).limit(2)):
        role = "Customer (manager)" if contact.portal_role == "org_manager" else "Customer"
        rows.append((role, contact.email, DEMO_PASSWORD + " at /portal", contact.name))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    click.echo("\nDemo sign-ins:")
    for n, row in enumerate(rows):
        click.echo("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if n == 0:
            click.echo("  " + "  ".join("-" * w for w in widths))
    click.echo("  (the password stays demo-password until someone changes it)")


@dataclass
class _Topic:
    key: str
    group: str
    tags: tuple[str, ...]
    subjects: tuple[str, ...]
    bodies: tuple[str, ...]
    replies: tuple[str, ...]
    with_os: bool = False
    with_order: bool = False


class _Seeder:
    """Builds the data set through the real services, then moves its clock into the past."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.now = utcnow().replace(microsecond=0)
        self.orgs, self.contacts, self.users, self.groups, self.fields = [], [], {}, {}, {}
        self.inserted: list[tuple[type, int]] = []  # (model, id) of rows the services inserted since the last stamp
        self.products, self.assets, self.contracts = {}, [], {}

    # people, groups and fields, each found again when it exists already

    def people(self) -> None:
        # Every random draw happens whether or not the row exists, so a second run with the same
        # seed opens the same cases.
        rng, services = self.rng, people_services
        for name, description in GROUPS:
            self.groups[name] = (db.session.scalar(select(Group).where(Group.name == name))
                                 or services.create_group(None, name=name, description=description))
        for email, name, role, groups in DEMO_USERS:
            joined = self.now - timedelta(days=120 + rng.randrange(60))
            user = db.session.scalar(select(User).where(func.lower(User.email) == email))
            if user is None:
                user = services.create_user(None, email=email, name=name, password=DEMO_PASSWORD, role=role,
                                            groups=[self.groups[g] for g in groups])
                user.created_at = joined
            self.users[email] = user
        for n, (name, domain) in enumerate(ORGANIZATIONS):
            since = self.now - timedelta(days=200 + rng.randrange(400))
            org = db.session.scalar(select(Organization).where(Organization.name == name))
            if org is None:
                org = services.create_organization(None, name=name, domain=domain, phone=f"+1 555 01{n:02d}")
                org.created_at = since
            self.orgs.append(org)
        emails = set()
        for i, (first, last) in enumerate(self._names(84)):
            org = self.orgs[i % len(self.orgs)] if i < 76 else None
            domain = org.domain if org else rng.choice(FREE_MAIL)
            # Each organization has its own address style, as real ones do.
            email = f"{first[0]}{last}@{domain}".lower().replace("'", "")
            if org is None or len(org.name) % 2 or email in emails:
                email = f"{first}.{last}@{domain}".lower().replace("'", "")
            emails.add(email)
            phone = f"+1 555 {rng.randrange(200, 999)} {rng.randrange(1000, 9999)}" if rng.random() < 0.5 else ""
            since = self.now - timedelta(days=95 + rng.randrange(300))
            contact = db.session.scalar(select(Contact).where(Contact.email == email))
            if contact is None:
                contact = services.create_contact(None, name=f"{first} {last}", email=email, phone=phone,
                                                  organization=org)
                contact.created_at = since
            self.contacts.append(contact)
        # Two customers may sign in to the portal (/portal): a member and their organization's manager.
        for contact, role in ((self.contacts[0], "member"), (self.contacts[len(self.orgs)], "org_manager")):
            if not contact.portal_password_hash:
                contact.portal_enabled, contact.portal_role = True, role
                contact.portal_password_hash = services.hash_password(DEMO_PASSWORD)
                contact.portal_session_token = f"demo-{contact.id}"
        for key, label, type_, choices in CUSTOM_FIELDS:
            field = db.session.scalar(select(CustomField).where(CustomField.key == key))
            if field is None:
                field = create_custom_field(None, key=key, label=label, type=FieldType(type_), choices=choices,
                                            position=len(self.fields) + 1)
            self.fields[key] = field

    # products, assets, service contracts and live chat, each found again when it exists already

    def catalog(self) -> None:
        # Its own generator, drawn once from the main one: the cases stay the same whatever the catalog holds.
        rng = random.Random(self.rng.getrandbits(64))
        today = self.now.date()
        for code, name, category in PRODUCTS:
            self.products[code] = (db.session.scalar(select(Product).where(Product.code == code))
                                   or asset_services.save_product(None, None, name=name, code=code, category=category))
        for n in range(ASSET_COUNT):
            code = rng.choice(list(self.products))
            contact = self.contacts[rng.randrange(len(self.contacts))]
            sold = today - timedelta(days=rng.randrange(30, 1400))
            years = rng.choice([1, 2, 3])
            serial = f"{code.split('-')[0]}{sold:%y%m}-{rng.randrange(10000, 99999)}{n:02d}"
            status, notes = rng.choices(list(AssetStatus), [80, 8, 5, 7])[0], rng.choice(ASSET_NOTES)
            asset = db.session.scalar(select(Asset).where(Asset.serial_number == serial))
            if asset is None:
                # Every third asset belongs to the organization as a whole, not to one person.
                owner = ({"organization_id": contact.organization.id} if contact.organization and n % 3 == 0
                         else {"contact_id": contact.id})
                asset = asset_services.save_asset(None, None, dict(
                    serial_number=serial, product_id=self.products[code].id, status=status.value,
                    date_sold=sold.isoformat(), warranty_end=sold.replace(year=sold.year + years, day=min(sold.day, 28)).isoformat(),
                    notes=notes, **owner))
            self.assets.append(asset)
        for n, (name, unit, total, start_days, end_days, use) in enumerate(CONTRACTS):
            org = self.orgs[n % len(self.orgs)]
            full_name = f"{org.name}: {name}"
            contract = db.session.scalar(select(ServiceContract).where(ServiceContract.name == full_name))
            if contract is None:
                contract = contract_services.save_contract(None, None, dict(
                    name=full_name, organization_id=org.id, tracking_unit=unit, total_units=total,
                    start_date=(today - timedelta(days=start_days)).isoformat(),
                    end_date=(today + timedelta(days=end_days)).isoformat()))
            self.contracts[use] = contract
        for position, (name, group) in enumerate(CHAT_TOPICS, start=1):
            if db.session.scalar(select(ChatTopic).where(ChatTopic.name == name)) is None:
                chat_services.save_topic(None, None, {"name": name, "group_id": self.groups[group].id,
                                                      "position": position})
        for title, body in CANNED_REPLIES:
            if db.session.scalar(select(CannedReply).where(CannedReply.title == title)) is None:
                chat_services.save_canned_reply(None, None, title=title, body=body)

    def use_up_contract(self) -> None:
        """The "exhausted" demo contract: the rest of its hours logged on its customer's latest case."""
        contract = self.contracts.get("exhausted")
        if contract is None or contract.status != ContractStatus.ACTIVE:
            return
        case = db.session.scalar(select(Case).where(Case.service_contract_id == contract.id)
                                 .order_by(Case.id.desc()).limit(1))
        left = int(round((contract.total_units - contract.used_units) * 60))
        if case is None or left <= 0:
            return
        agent = case.assignee or self.users["agent@example.com"]
        entry = contract_services.log_time(agent, case, minutes=left, note="On-site visit: replaced the core switch",
                                           work_date=case.updated_at.date())
        # Dated with the case's last change, like everything else the seeder wrote.
        db.session.execute(update(Activity).where(Activity.case_id == case.id, Activity.created_at > case.updated_at)
                           .values(created_at=case.updated_at))
        entry.created_at = case.updated_at

    def _names(self, count: int) -> list[tuple[str, str]]:
        """Distinct people, no surname more than twice: a crowd of Hoffmanns looks invented."""
        names, firsts, lasts = [], {}, {}
        for first, last in self.rng.sample([(f, l) for f in FIRST_NAMES for l in LAST_NAMES], 600):
            if firsts.get(first, 0) < 3 and lasts.get(last, 0) < 2:
                names.append((first, last))
                firsts[first], lasts[last] = firsts.get(first, 0) + 1, lasts.get(last, 0) + 1
                if len(names) == count:
                    break
        return names

    # cases

    def cases(self, count: int):
        """Open `count` cases, yielding the number done after each batch (which the caller commits)."""
        def collect(mapper, connection, target):
            self.inserted.append((mapper.class_, target.id))

        for model in (Activity, OutboundEmail):
            event.listen(model, "after_insert", collect)
        # The services date what they write (SLA events too) at the invented time of the case's story.
        app_clock, self.clock = helpdesk.types.clock, None
        helpdesk.types.clock = lambda: self.clock.t if self.clock else app_clock()
        try:
            for n in range(1, count + 1):
                self._case()
                if n % BATCH == 0 or n == count:
                    yield n
        finally:
            helpdesk.types.clock = app_clock
            for model in (Activity, OutboundEmail):
                event.remove(model, "after_insert", collect)

    def _case(self) -> None:
        rng = self.rng
        topic = rng.choice(TOPICS)
        contact = rng.choice(self.contacts)
        group = self.groups[topic.group]
        agents = [u for u in self.users.values() if u.role == Role.AGENT and u.active] or list(self.users.values())
        team = [u for u in agents if group in u.groups] or agents
        channel = rng.choices(list(CHANNEL_WEIGHTS), list(CHANNEL_WEIGHTS.values()))[0]
        words = self._words(contact, topic)
        clock = self.clock = _Clock(self, self._opened_at())

        agent_typed = channel in (Channel.PHONE, Channel.WEB)
        opener = rng.choice(team) if agent_typed else (None if channel == Channel.API else contact)
        custom = {}
        if topic.with_os and rng.random() < 0.8:
            custom["operating_system"] = words["os"]
        if topic.with_order:
            custom["order_number"] = words["order"]
        case = case_services.open_case(
            opener, subject=rng.choice(topic.subjects).format(**words), body=rng.choice(topic.bodies).format(**words),
            contact=contact, group=group if (agent_typed or rng.random() < 0.5) else None,
            assignee=opener if agent_typed and rng.random() < 0.7 else None,
            priority=rng.choices(list(Priority), [20, 55, 20, 5])[0], channel=channel,
            tags=list(topic.tags) + (["vip"] if rng.random() < 0.05 else []),
            custom_fields={k: v for k, v in custom.items() if k in self.fields})
        clock.stamp(case, case.messages[0])
        self._story(case, clock, team, words, topic)
        clock.finish(case)

    def _story(self, case: Case, clock: _Clock, team: list[User], words: dict, topic: _Topic) -> None:
        """What happened to the case after it opened; it stops early when the invented clock reaches now."""
        rng, services, contact = self.rng, case_services, case.contact
        age_days = (self.now - clock.start).total_seconds() / 86400
        finish = rng.random() < (0.9 if age_days > 14 else 0.6 if age_days > 6 else 0.3 if age_days > 2 else 0.08)
        owner = case.assignee
        if owner is None and rng.random() < 0.9 and clock.advance(minutes=(5, 300)):
            owner = rng.choice(team)
            by = self.users.get("manager@example.com") if rng.random() < 0.4 else owner
            services.assign_case(by or owner, case, assignee=owner, group=case.group or self.groups[topic.group])
            clock.stamp(case)
        if owner is None:
            return
        if case.priority < Priority.URGENT and rng.random() < 0.08 and clock.advance(minutes=(2, 60)):
            services.change_priority(owner, case, Priority(case.priority + 1))
            clock.stamp(case)
        if rng.random() < 0.3 and clock.advance(minutes=(3, 90)):
            clock.stamp(case, services.add_note(owner, case, body=rng.choice(NOTES).format(**words)))
        rounds = rng.choice([0, 1, 1, 1, 2, 2])
        for r in range(rounds + 1):
            if not clock.advance(minutes=(10, 1440) if r == 0 else (20, 600)):
                return
            clock.stamp(case, services.reply_to_case(owner, case, body=self._reply(topic, words, owner, r == 0)))
            if r == 0 and ((case.service_contract_id and rng.random() < 0.6) or rng.random() < 0.05):
                # Time spent: every case under a contract, now and then another.
                minutes = rng.choice([10, 15, 20, 30, 45, 60, 90])
                entry = contract_services.log_time(owner, case, minutes=minutes, billable=rng.random() < 0.85,
                                                   note=rng.choice(TIME_NOTES), work_date=clock.t.date())
                entry.created_at = clock.t
                clock.stamp(case)
            if r == rounds and finish:
                break
            if not clock.advance(minutes=(30, 2880)):
                return
            via = Channel.PORTAL if case.channel == Channel.PORTAL else Channel.EMAIL
            clock.stamp(case, services.add_customer_message(
                contact, case, body=rng.choice(FOLLOW_UPS).format(**words), channel=via))
            if case.status != Status.WAIT_THIRD_PARTY and rng.random() < 0.15 and clock.advance(minutes=(5, 120)):
                reason = rng.choice(["Waiting on the vendor", "Escalated to the carrier", "Replacement part ordered"])
                services.change_status(owner, case, Status.WAIT_THIRD_PARTY, reason=reason)
                clock.stamp(case)
        if finish and clock.advance(minutes=(60, 4320)):
            services.change_status(owner, case, Status.RESOLVED)
            clock.stamp(case)
            if rng.random() < 0.75 and clock.advance(minutes=(4320, 10080)):
                services.change_status(owner, case, Status.CLOSED, reason="No answer for 3 days")
                clock.stamp(case)

    def _opened_at(self) -> datetime:
        rng = self.rng
        day = self.now - timedelta(days=int(90 * rng.random() ** 1.4))
        if day.weekday() >= 5 and rng.random() < 0.8:  # quieter weekends
            day -= timedelta(days=day.weekday() - 4)
        t = day.replace(hour=rng.choice([7, 8, 8, 9, 9, 10, 10, 11, 12, 13, 14, 14, 15, 16, 17, 19, 22]),
                        minute=rng.randrange(60), second=rng.randrange(60))
        if t >= self.now - timedelta(minutes=5):
            t = self.now - timedelta(minutes=rng.randrange(5, 600))
        return t

    def _words(self, contact, topic: _Topic) -> dict:
        rng = self.rng
        return dict(
            first=contact.name.split()[0], org=contact.organization.name if contact.organization else "our office",
            os=rng.choice(OPERATING_SYSTEMS), order=f"SO-{rng.randrange(100000, 999999)}",
            invoice=f"INV-{rng.randrange(2024000, 2025999)}", floor=rng.choice(["2nd", "3rd", "4th", "ground"]),
            amount=f"{rng.randrange(29, 1900)}.{rng.choice(['00', '50', '99'])}",
        )

    def _reply(self, topic: _Topic, words: dict, agent: User, first: bool) -> str:
        text = self.rng.choice(topic.replies if first else GENERIC_REPLIES).format(**words)
        return f"Hi {words['first']},\n\n{text}\n\nBest regards,\n{agent.name}"


class _Clock:
    """The invented time line of one case: moves forward, never past now, and stamps what the services wrote."""

    def __init__(self, seeder: _Seeder, start: datetime):
        self.seeder, self.start, self.t = seeder, start, start
        self.first_response_at = self.resolved_at = self.closed_at = None
        self.rows: dict[type, list[dict]] = {Activity: [], Message: [], OutboundEmail: []}

    def advance(self, minutes: tuple[int, int]) -> bool:
        step = timedelta(minutes=self.seeder.rng.randint(*minutes))
        if self.t + step >= self.seeder.now:
            return False
        self.t += step
        return True

    def stamp(self, case: Case, message: Message | None = None) -> None:
        """Date what the last service call wrote at the clock's time (written to the database by finish())."""
        for model, row_id in self.seeder.inserted:
            row = {"id": row_id, "created_at": self.t}
            if model is OutboundEmail:
                # Demo replies count as sent long ago: no mail leaves for invented customers.
                row.update(status=EmailStatus.SENT, sent_at=self.t)
            self.rows[model].append(row)
        self.seeder.inserted.clear()
        if message is not None:
            self.rows[Message].append({"id": message.id, "created_at": self.t})
            if message.kind == MessageKind.REPLY:
                self.first_response_at = self.first_response_at or self.t
        if case.status == Status.RESOLVED and self.resolved_at is None:
            self.resolved_at = self.t
        if case.status == Status.CLOSED:
            self.closed_at = self.t
            self.resolved_at = self.resolved_at or self.t
        elif case.status != Status.RESOLVED:
            self.resolved_at = None

    def finish(self, case: Case) -> None:
        for model, rows in self.rows.items():
            if rows:
                db.session.execute(update(model), rows)
        # A bulk UPDATE leaves the optimistic-lock version alone: the Activity rows keep matching it.
        db.session.execute(update(Case).where(Case.id == case.id).values(
            created_at=self.start, updated_at=self.t, first_response_at=self.first_response_at,
            resolved_at=self.resolved_at, closed_at=self.closed_at))


# --- the demo data -------------------------------------------------------------------------

# Addresses under .example (RFC 2606): the demo can never mail a real person.
DEMO_USERS = [
    ("admin@example.com", "Morgan Ellis", "admin", ["Support", "Technical"]),
    ("manager@example.com", "Priya Raman", "manager", ["Support", "Billing", "Technical", "Onboarding"]),
    ("agent@example.com", "Sam Carter", "agent", ["Support", "Technical"]),
    ("lena.fischer@example.com", "Lena Fischer", "agent", ["Billing", "Support"]),
    ("tomas.novak@example.com", "Tomás Novák", "agent", ["Technical"]),
    ("aisha.bello@example.com", "Aisha Bello", "agent", ["Onboarding", "Support"]),
    ("kenji.watanabe@example.com", "Kenji Watanabe", "agent", ["Technical", "Onboarding"]),
    ("rosa.martinez@example.com", "Rosa Martínez", "agent", ["Billing"]),
]
GROUPS = [
    ("Support", "First line: accounts, orders and general questions."),
    ("Billing", "Invoices, payments, plans and refunds."),
    ("Technical", "Hardware, network, VPN and application faults."),
    ("Onboarding", "New customers: set-up, imports and training."),
]
ORGANIZATIONS = [
    ("Northwind Traders", "northwind.example"),
    ("Contoso Pharmaceuticals", "contoso.example"),
    ("Fabrikam Logistics", "fabrikam.example"),
    ("Alpine Ski House", "alpineskihouse.example"),
    ("Tailspin Toys", "tailspintoys.example"),
    ("Wingtip Legal", "wingtiplegal.example"),
    ("Blue Yonder Airlines", "blueyonder.example"),
    ("Coho Winery", "cohowinery.example"),
    ("Lakeshore Dental Group", "lakeshoredental.example"),
    ("Margie's Travel", "margiestravel.example"),
    ("Proseware Analytics", "proseware.example"),
    ("Woodgrove Credit Union", "woodgrove.example"),
]
FREE_MAIL = ["mail.example", "inbox.example", "post.example"]
FIRST_NAMES = [
    "Olivia", "Liam", "Amelia", "Noah", "Sofia", "Mateo", "Hannah", "Lucas", "Chloe", "Ethan", "Mia", "Arjun",
    "Zara", "Daniel", "Grace", "Omar", "Ingrid", "Felix", "Nadia", "Hugo", "Elena", "Yusuf", "Clara", "Ravi",
    "Maya", "Jonas", "Fatima", "Leo", "Isla", "Diego", "Anna", "Marcus", "Sara", "Tobias", "Aiko", "Kwame",
    "Julia", "Pedro", "Emily", "Viktor",
]
LAST_NAMES = [
    "Andersen", "Brooks", "Costa", "Dubois", "Eriksson", "Fernandes", "Gallagher", "Hoffmann", "Iyer", "Jensen",
    "Kowalski", "Lindqvist", "Moreau", "Nakamura", "O'Brien", "Petrov", "Quinn", "Rossi", "Schmidt", "Tanaka",
    "Umar", "Varga", "Whitfield", "Xu", "Yilmaz", "Zimmermann", "Abbott", "Bianchi", "Chen", "Delgado", "Evans",
    "Fischer", "Gupta", "Haddad", "Ivanova", "Johansson", "Kim", "Lopez", "Mensah", "Novak", "Okafor", "Park",
    "Reyes", "Silva", "Thompson", "Walsh",
]
OPERATING_SYSTEMS = ["Windows 11", "Windows 10", "macOS", "Ubuntu", "ChromeOS", "iOS", "Android"]
CUSTOM_FIELDS = [
    ("operating_system", "Operating system", "choice", OPERATING_SYSTEMS),
    ("order_number", "Order number", "text", []),
]


CHANNEL_WEIGHTS = {Channel.EMAIL: 50, Channel.PORTAL: 20, Channel.PHONE: 12, Channel.CHAT: 10, Channel.API: 3,
                   Channel.WEB: 5}

TOPICS = [
    _Topic(
        "printer", "Technical", ("printer", "hardware"),
        ("Printer on the {floor} floor keeps jamming", "Can't print to the shared printer from {os}",
         "Printer prints blank pages", "Scan to email stopped working"),
        ("Hi,\n\nSince this morning the printer on the {floor} floor jams on every second page. We have "
         "already tried fresh paper and switching it off and on again.\n\nThanks,\n{first}",
         "Hello,\n\nI can't print from my laptop ({os}) anymore. The job shows as sent but nothing comes out, "
         "and colleagues on Windows have the same issue since yesterday.\n\n{first}",
         "Hi support,\n\nThe scanner no longer emails scans to us. It says 'SMTP error' on the display. "
         "This is blocking our invoicing at {org}.\n\nKind regards,\n{first}"),
        ("Thanks for the details. Could you send me the model number from the sticker on the back, and a photo "
         "of the error on the display? Meanwhile, please try removing the rear tray and checking for torn paper.",
         "We pushed an updated driver to the print server. Please remove the printer from your {os} machine, "
         "add it again from the shared list, and tell me whether a test page prints."),
        with_os=True,
    ),
    _Topic(
        "vpn", "Technical", ("vpn", "network"),
        ("VPN disconnects every few minutes", "Cannot connect to the VPN from home",
         "VPN client asks for a certificate", "Very slow network over VPN"),
        ("Hi,\n\nThe VPN drops roughly every ten minutes when I work from home, and I lose my remote desktop "
         "session each time. I'm on {os} with the latest client.\n\nThanks,\n{first}",
         "Hello,\n\nSince the update I get 'certificate not trusted' when connecting to the VPN. Half of our "
         "team at {org} can't reach the file server.\n\n{first}"),
        ("Thanks for reporting this. Please open the VPN client, choose Help > Export logs, and attach the file "
         "here so we can look at why the tunnel drops.",
         "We renewed the gateway certificate last night and some clients kept the old one cached. Please "
         "reinstall the profile from the portal and try again."),
        with_os=True,
    ),
    _Topic(
        "password", "Support", ("account", "password-reset"),
        ("Password reset link has expired", "Locked out after too many attempts",
         "Two-factor code never arrives", "Need to move two-factor to a new phone"),
        ("Hi,\n\nI requested a password reset but the link says it has expired, even when I click it "
         "straight away. Could you help?\n\n{first}",
         "Hello,\n\nI got a new phone and the authenticator app didn't carry over, so I can't sign in. "
         "Can you reset my two-factor?\n\nThanks,\n{first}"),
        ("I've unlocked your account and sent a fresh reset link, valid for 30 minutes. If it still expires "
         "at once, please tell me which browser you use.",
         "For your security I need to confirm it's you: please reply from the address we have on file and "
         "tell me the last invoice number you received."),
    ),
    _Topic(
        "billing", "Billing", ("billing",),
        ("We were charged twice this month", "Please update the credit card on file",
         "Question about VAT on our latest bill", "We'd like to downgrade our plan"),
        ("Hi,\n\nOur card was charged twice for this month's subscription ({amount} each). Please refund one "
         "of the charges.\n\nRegards,\n{first}\n{org}",
         "Hello,\n\nWe'd like to move from the Business plan to Starter from next month. What happens to "
         "the users above the limit?\n\n{first}"),
        ("I can see the duplicate charge of {amount}. I've issued a refund; it should reach your account "
         "within 5 to 7 working days.",
         "The change will take effect at your next renewal. Users above the limit keep read-only access, so "
         "nothing is lost."),
    ),
    _Topic(
        "invoice", "Billing", ("invoice",),
        ("Invoice {invoice} is missing our PO number", "Need a copy of invoice {invoice}",
         "Invoice {invoice} was sent to the wrong address", "Payment not shown on invoice {invoice}"),
        ("Hi,\n\nOur accounts team can't process invoice {invoice} without our purchase order number. Could "
         "you reissue it with PO 4500-{amount}?\n\nThanks,\n{first}",
         "Hello,\n\nWe paid invoice {invoice} two weeks ago by bank transfer but it still shows as open in "
         "the portal.\n\n{first}, {org}"),
        ("I've reissued {invoice} with your PO number and attached it to this case.",
         "Thanks, I found the transfer; it was booked against the wrong customer. {invoice} now shows as paid."),
    ),
    _Topic(
        "onboarding", "Onboarding", ("onboarding", "training"),
        ("Setting up accounts for our new hires", "Onboarding call for {org}",
         "Importing our contacts from a spreadsheet", "Training session for our team"),
        ("Hi,\n\nWe have five people starting on Monday at {org}. What's the quickest way to create their "
         "accounts and give them the right permissions?\n\nThanks,\n{first}",
         "Hello,\n\nWe just signed up and would like an onboarding call next week. Tuesday or Thursday "
         "afternoon would suit us.\n\nBest,\n{first}"),
        ("Welcome aboard! I've booked a 45-minute onboarding call for Thursday at 14:00; the invitation is in "
         "your inbox.",
         "You can import contacts from a CSV file under Settings > Import. I've attached a template with the "
         "columns we expect."),
    ),
    _Topic(
        "email", "Support", ("email",),
        ("Emails to our customers are bouncing", "Shared mailbox doesn't sync on {os}",
         "Outlook keeps asking for my password"),
        ("Hi,\n\nSince yesterday every email we send to one of our big customers bounces with '550 rejected'. "
         "Can you check whether we are on a block list?\n\n{first}",
         "Hello,\n\nThe shared support mailbox stopped syncing on my {os} machine. Webmail shows the new "
         "messages fine.\n\nThanks,\n{first}"),
        ("The bounce says the receiving server rejects our old SPF record. We've updated it; changes can take "
         "a few hours to spread.",
         "Please remove the account from the mail app and add it again; the sync token expired after the "
         "password change."),
        with_os=True,
    ),
    _Topic(
        "order", "Support", ("order",),
        ("Order {order} hasn't arrived", "Wrong item delivered in order {order}",
         "Please cancel order {order}", "Return label for order {order}"),
        ("Hi,\n\nOrder {order} was due last Friday and tracking hasn't moved for four days. Can you "
         "check with the courier?\n\nThanks,\n{first}",
         "Hello,\n\nWe received the wrong model in order {order}: we ordered the 27-inch monitors and got "
         "24-inch ones. How do we send them back?\n\n{first}, {org}"),
        ("I've opened an investigation with the courier for {order}. If it hasn't moved by tomorrow we'll "
         "send a replacement at no cost.",
         "Sorry about the mix-up. A prepaid return label for {order} is attached; the right items ship as "
         "soon as the courier scans the return."),
        with_order=True,
    ),
    _Topic(
        "app", "Technical", ("bug",),
        ("App crashes when exporting to PDF", "Dashboard takes a minute to load",
         "Error 500 when saving a report", "Sync fails on {os}"),
        ("Hi,\n\nThe desktop app closes without a message whenever I export a report to PDF. It started "
         "after the last update. I'm on {os}.\n\n{first}",
         "Hello,\n\nSaving any report gives 'Error 500, something went wrong'. It happens for everyone at "
         "{org} since this morning.\n\nRegards,\n{first}"),
        ("Thanks, we can reproduce the crash on {os} and our developers are on it. As a workaround, exporting "
         "to Excel and printing to PDF from there works.",
         "We found a failing database migration behind the error 500 and rolled it back. Saving reports "
         "should work again; please confirm on your side."),
        with_os=True,
    ),
    _Topic(
        "access", "Support", ("license", "access"),
        ("Please add two more licences", "Access to the reporting module",
         "Remove access for a former employee"),
        ("Hi,\n\nCould you add two more user licences to our account? We're growing the team at {org}.\n\n"
         "Thanks,\n{first}",
         "Hello,\n\nOne of our colleagues left the company on Friday. Please remove her access today.\n\n{first}"),
        ("Done: your account now has two more licences, prorated on the next invoice.",
         "Her access is removed and her open items are reassigned to you. Let me know if anything else is "
         "needed."),
    ),
]
GENERIC_REPLIES = [
    "Thanks for getting back to me. I've checked again and applied a fix on our side; could you try once more?",
    "Thanks for the extra information, that helps. I'll keep this case open until you confirm it works.",
    "Glad to hear it. I'll mark this case as resolved; just reply if the problem comes back.",
    "I've passed this to our second-line team with your logs and will update you as soon as I hear back.",
    "Could you send a screenshot of what you see now? That will tell us which step is failing.",
]
FOLLOW_UPS = [
    "Thanks, that worked!",
    "I tried that but it still happens, same as before.\n\n{first}",
    "Any update on this? It's starting to hold up our work at {org}.",
    "Here is the information you asked for. Let me know if you need anything else.\n\n{first}",
    "It worked for me, but two colleagues still see the problem.",
    "Sorry for the slow answer, I was out of the office. It looks fine now.",
]
NOTES = [
    "Checked the logs: the errors started right after Tuesday's release.",
    "Customer at {org} is on the premium plan; let's prioritise this one.",
    "Same issue reported by two other customers this week; linking them.",
    "Called {first}, no answer. Left a voicemail.",
    "Escalated to the network team, ticket NET-{amount}.",
]

PRODUCTS = [
    ("LPR-4200", "LaserPro 4200 printer", "Printers"),
    ("NAS-220", "VaultBox NAS 220", "Storage"),
    ("SW-24P", "NetCore 24-port switch", "Network"),
    ("FW-100", "Guardian 100 firewall", "Network"),
    ("LT-14", "WorkBook 14 laptop", "Computers"),
    ("MON-27", "ClearView 27-inch monitor", "Displays"),
]
ASSET_COUNT = 40
ASSET_NOTES = ["", "", "Installed by our technician.", "Leased, returns at the end of the term.",
               "Second-hand unit, refurbished.", "Spare kept in the server room."]
# (name, unit, total units, started days ago, ends in days, role in the demo)
CONTRACTS = [
    ("Premium support 2026", "hours", 120, 200, 165, "hours"),
    ("Incident pack", "incidents", 25, 150, 215, "incidents"),
    ("Managed network", "hours", 80, 330, 12, "near_expiry"),
    ("Priority support", "hours", 6, 120, 120, "exhausted"),
    ("On-site days", "days", 10, 90, 275, "days"),
    ("Standard support", "hours", 40, 60, 305, "standard"),
    ("Printer care", "incidents", 12, 180, 185, "printer"),
    ("Support 2025", "hours", 50, 500, -40, "expired"),
]
TIME_NOTES = ["Remote session with the customer", "Checked logs and configuration", "Phone call",
              "Tested the fix", "Research and write-up", ""]
CHAT_TOPICS = [("Technical help", "Technical"), ("Billing and invoices", "Billing")]
CANNED_REPLIES = [
    ("Greeting", "Hi, thanks for reaching out! Let me have a look at this for you."),
    ("Ask for details", "Could you tell me the serial number of the device and what you see on the screen?"),
    ("Closing", "Glad I could help. If anything else comes up, just start a new chat. Have a nice day!"),
]
