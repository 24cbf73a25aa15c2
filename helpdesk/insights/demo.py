"""The insights' part of `flask demo seed`: the SLA policies the demo cases run under, finished
chats and customer ratings over the last weeks, and the facts behind the dashboards, so a
manager's first look at /insights shows a help desk at work.

Everything goes through the services with the app's clock moved to the invented moment
(`moved_clock`), so the figures insights read (SLA events, chat waits, ratings) are the ones a
real history would have left."""
from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import func, select

import helpdesk.types
from helpdesk.cases.models import Case, Status
from helpdesk.chat import services as chat_services
from helpdesk.chat.models import ChatSession, ChatStatus, ChatTopic
from helpdesk.extensions import db
from helpdesk.mail.models import EmailStatus, OutboundEmail
from helpdesk.people.models import Contact, Organization, Role, User
from helpdesk.satisfaction import services as satisfaction_services
from helpdesk.satisfaction.models import Rating
from helpdesk.sla import services as sla_services
from helpdesk.sla.jobs import sweep_sla
from helpdesk.sla.models import BusinessHours, SLAPolicy
from helpdesk.types import utcnow

CALENDAR = "Office hours"
WEEKLY = {str(d): [["08:00", "18:00"]] for d in range(5)}
# (name, default, organizations (first n of the demo's), targets by priority: first response, next response, resolution)
POLICIES = [
    ("Standard support", True, 0, {"1": ("24h", "24h", "120h"), "2": ("12h", "12h", "60h"), "3": ("6h", "6h", "40h"),
                                   "4": ("3h", "3h", "16h")}),
    ("Premium support", False, 2, {"1": ("12h", "12h", "60h"), "2": ("6h", "6h", "40h"), "3": ("3h", "3h", "24h"),
                                   "4": ("2h", "2h", "8h")}),
]
CHAT_DAYS = 60
CHAT_HOURS = [8, 9, 9, 10, 10, 10, 11, 11, 12, 13, 14, 14, 15, 15, 16, 16, 17, 18, 20]
OPENERS = ["Hi, I can't sign in since this morning.", "Hello, where can I find my last invoice?",
           "The VPN keeps dropping, can someone help?", "Hi! Our printer shows an error E-52.",
           "Can I change the card we pay with?", "Is there an outage right now? Nothing loads.",
           "How do I add a colleague to our account?", "My order hasn't arrived yet."]
AGENT_LINES = ["Hi {name}, thanks for reaching out! Let me have a look.",
               "Could you tell me the exact error message you see?",
               "I've reset that on our side; could you try again now?",
               "Thanks, that helps. One moment while I check.",
               "Glad it works now. Anything else I can help with?"]
VISITOR_LINES = ["It says 'access denied'.", "Sure, one second.", "Yes, it works now, thank you!",
                 "Still the same, unfortunately.", "That's all, thanks!"]
RATING_COMMENTS = {5: ["Quick and friendly, thank you!", "Solved in minutes.", ""],
                   4: ["Good help, took a little while.", ""], 3: ["OK in the end.", ""],
                   2: ["Took far too long.", ""], 1: ["Still not solved.", ""]}


class _Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@contextmanager
def moved_clock(at: datetime) -> Iterator[_Clock]:
    """utcnow() answers the returned clock's `now` (set it as the story moves on) until the block ends."""
    clock, before = _Clock(at), helpdesk.types.clock
    helpdesk.types.clock = clock
    try:
        yield clock
    finally:
        helpdesk.types.clock = before


def ensure_sla_policies() -> None:
    """An office-hours calendar and a default and a premium policy, before the demo opens its
    cases (each found again when it exists)."""
    hours = db.session.scalar(select(BusinessHours).where(BusinessHours.name == CALENDAR))
    if hours is None:
        hours = sla_services.save_business_hours(None, None, name=CALENDAR, timezone="UTC", weekly=WEEKLY, holidays=[])
    organizations = list(db.session.scalars(select(Organization.id).order_by(Organization.id)))
    for position, (name, default, premium_orgs, targets) in enumerate(POLICIES, start=1):
        if db.session.scalar(select(SLAPolicy.id).where(SLAPolicy.name == name)) is not None:
            continue
        sla_services.save_policy(None, None, {
            "name": name, "is_default": default, "position": 10 if default else position,
            "business_hours_id": hours.id, "warning_percent": 75,
            "pause_statuses": ["wait_customer", "wait_third_party"],
            "conditions": {"organization_ids": organizations[:premium_orgs]} if premium_orgs else {},
            "targets": {p: dict(zip(("first_response", "next_response", "resolution"), t)) for p, t in targets.items()},
        })


def seed_history(rng: random.Random, chats: int = 150) -> None:
    """After the demo's cases: the SLA sweep, ratings of solved cases and finished chats."""
    now = utcnow()
    sweep_sla(now)  # warnings and breaches of the open cases, as the periodic sweep would have recorded them
    mails_before = db.session.scalar(select(func.max(OutboundEmail.id))) or 0
    _ratings(rng, now)
    if db.session.scalar(select(ChatSession.id).limit(1)) is None:
        _chats(rng, now, chats)
    # Low ratings alert the managers by mail: history too, so nothing waits to go to invented people.
    for mail in db.session.scalars(select(OutboundEmail).where(OutboundEmail.id > mails_before,
                                                               OutboundEmail.status != EmailStatus.SENT)):
        mail.status, mail.sent_at = EmailStatus.SENT, mail.created_at
    db.session.flush()


def rebuild_facts() -> int:
    """The dashboards' facts from everything seeded (the edge packages' data included)."""
    from helpdesk.insights import rollups, services

    done = services.rebuild(progress=lambda done, total: db.session.commit())
    db.session.commit()
    rollups.rebuild_all(commit=db.session.commit)  # chats, the deflection funnel, knowledge-base searches
    return done


def _ratings(rng: random.Random, now: datetime) -> None:
    """About a third of the solved cases with a customer get rated, a few hours after they were solved."""
    solved = db.session.scalars(
        select(Case).where(Case.status.in_([Status.RESOLVED, Status.CLOSED]), Case.contact_id.is_not(None),
                           Case.resolved_at.is_not(None), ~select(Rating.id).where(Rating.case_id == Case.id).exists())
        .order_by(Case.id)).all()
    for case in solved:
        if rng.random() >= 0.35:
            continue
        score = rng.choices((5, 4, 3, 2, 1), (50, 25, 10, 7, 8))[0]
        # Before the case's last change: a rating does not touch the case, and the story ends there.
        at = min(case.resolved_at + timedelta(minutes=rng.randrange(20, 2000)), case.updated_at, now)
        with moved_clock(at):
            satisfaction_services.record_rating(case.contact, case, score, rng.choice(RATING_COMMENTS[score]))


def _chats(rng: random.Random, now: datetime, count: int) -> None:
    """Finished chats over the last CHAT_DAYS days: answered, abandoned in the queue, or missed."""
    topics = list(db.session.scalars(select(ChatTopic).where(ChatTopic.active.is_(True)).order_by(ChatTopic.position)))
    contacts = list(db.session.scalars(select(Contact).order_by(Contact.id)))
    agents = list(db.session.scalars(select(User).where(User.role == Role.AGENT, User.active.is_(True))
                                     .order_by(User.id)))
    if not topics or not contacts or not agents:
        return
    for _ in range(count):
        day = now - timedelta(days=int(CHAT_DAYS * rng.random() ** 1.3))
        if day.weekday() >= 5 and rng.random() < 0.7:
            day -= timedelta(days=day.weekday() - 4)
        start = day.replace(hour=rng.choice(CHAT_HOURS), minute=rng.randrange(60), second=rng.randrange(60))
        if start > now - timedelta(minutes=30):
            start = now - timedelta(minutes=rng.randrange(30, 900))
        topic, contact = rng.choice(topics), rng.choice(contacts)
        team = [u for u in (topic.group.members if topic.group else []) if u in agents] or agents
        roll = rng.random()
        with moved_clock(start) as clock:
            def wait(lo: int, hi: int) -> None:
                clock.now = min(clock.now + timedelta(seconds=rng.randint(lo, hi)), now)

            chat = chat_services.start_chat(contact, name=contact.name, email=contact.email, topic=topic,
                                            message=rng.choice(OPENERS))
            if chat.status == ChatStatus.BOT:
                chat_services.request_human(chat)
            if roll < 0.08:  # the visitor gave up waiting
                wait(60, 420)
                chat_services.end_chat(None, chat, by="visitor")
                continue
            if roll < 0.12:  # nobody was free: the help desk closed the chat
                wait(600, 1200)
                chat_services.end_chat(None, chat, by="system")
                continue
            agent = chat.agent if chat.status == ChatStatus.ASSIGNED and chat.agent else rng.choice(team)
            wait(5, 30 if roll < 0.7 else 240)
            chat_services.accept_chat(agent, chat)
            wait(5, 40)
            chat_services.send_agent_message(agent, chat, AGENT_LINES[0].format(name=contact.name.split()[0]))
            for turn in range(rng.randint(1, 3)):
                wait(20, 120)
                chat_services.send_visitor_message(chat, rng.choice(VISITOR_LINES))
                wait(30, 240)
                chat_services.send_agent_message(agent, chat, AGENT_LINES[1 + turn % 4])
            wait(20, 180)
            chat_services.end_chat(agent, chat, by="agent" if rng.random() < 0.6 else "visitor")
            if rng.random() < 0.4:
                wait(5, 60)
                score = rng.choices((5, 4, 3, 2, 1), (55, 25, 10, 5, 5))[0]
                chat_services.rate_chat(chat, score, rng.choice(RATING_COMMENTS[score]))
