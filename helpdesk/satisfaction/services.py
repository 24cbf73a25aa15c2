"""State changes of satisfaction: asking for a rating, recording it, and the self-service funnel."""
from __future__ import annotations

from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy import select

from helpdesk.cases.models import Activity, Case, Status
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import LANGUAGES
from helpdesk.mail.services import queue_email
from helpdesk.people.models import Contact, Role, User
from helpdesk.portal_access.tokens import make_token, portal_link
from helpdesk.satisfaction import policies
from helpdesk.satisfaction.models import DeflectionEvent, FunnelStep, Rating
from helpdesk.types import utcnow

COMMENT_MAX = 2000


def rating_token(case: Case) -> str:
    return make_token("rating", {"c": case.id, "k": case.contact_id})


def request_rating(case: Case):
    """Email the case's contact five one-click links to rate it; once per resolution."""
    contact = case.contact
    if case.status != Status.RESOLVED or contact is None or not contact.email or case.resolved_at is None:
        return None
    token = rating_token(case)
    language = contact.language if contact.language in LANGUAGES else "en"
    with force_locale(language):
        labels = {1: gettext("Very poor"), 2: gettext("Poor"), 3: gettext("Fair"), 4: gettext("Good"),
                  5: gettext("Excellent")}
        lines = [
            gettext("Hello %(name)s,", name=contact.name),
            gettext("Your case %(number)s \"%(subject)s\" was resolved. How did we do? One click is enough:",
                    number=case.number, subject=case.subject),
            *[f"{score} – {labels[score]}: {portal_link(f'/rate/{token}?score={score}')}" for score in (5, 4, 3, 2, 1)],
            gettext("If the problem is not solved, just reply to this email and the case reopens."),
        ]
        subject = gettext("[%(number)s] How did we do?", number=case.number)
    return queue_email(to=[contact.email], subject=subject, body_text="\n\n".join(lines), case=case,
                       dedupe_key=f"csat:{case.id}:{int(case.resolved_at.timestamp())}",
                       auto_submitted="auto-generated")


def record_rating(contact: Contact, case: Case, score, comment: str = "") -> Rating:
    """Save the contact's rating of the case (again replaces it); a low one reopens or alerts."""
    value = policies.clean_score(score)
    comment = (comment or "").strip()
    errors = {}
    if value is None:
        errors["score"] = gettext("Choose a rating from 1 to 5.")
    if len(comment) > COMMENT_MAX:
        errors["comment"] = gettext("At most %(n)d characters.", n=COMMENT_MAX)
    if errors:
        raise ValidationFailed(errors)
    now = utcnow()
    rating = db.session.scalar(select(Rating).where(Rating.case_id == case.id))
    old = rating.score if rating else None
    if rating is None:
        rating = Rating(case_id=case.id, created_at=now)
        db.session.add(rating)
    rating.contact_id = contact.id
    rating.score, rating.comment, rating.updated_at = value, comment, now
    rating.agent_id, rating.group_id = case.assignee_id, case.group_id
    db.session.add(Activity(case_id=case.id, actor_contact_id=contact.id, action="rated", field="rating",
                            old=None if old is None else str(old), new=str(value), reason=comment[:500] or None))
    db.session.flush()
    config = current_app.config
    if policies.is_low(value, config.get("CSAT_LOW_SCORE", 2)) and (old is None or old != value):
        if config.get("CSAT_LOW_RATING_ACTION", "alert") == "reopen":
            _reopen(contact, case)
        else:
            _alert_managers(case, rating)
    return rating


def _reopen(contact: Contact, case: Case) -> None:
    from helpdesk.cases.services import change_status

    if case.status in (Status.RESOLVED, Status.CLOSED) and case.deleted_at is None and case.merged_into_id is None:
        change_status(contact, case, Status.OPEN, reason="low satisfaction rating")


def _alert_managers(case: Case, rating: Rating) -> None:
    managers = db.session.scalars(
        select(User).where(User.role == Role.MANAGER, User.active.is_(True)).order_by(User.id)
    ).all() or db.session.scalars(select(User).where(User.role == Role.ADMIN, User.active.is_(True))).all()
    if not managers:
        return
    agent = rating.agent.name if rating.agent else "nobody"
    body = (f"{case.contact.name if case.contact else 'The customer'} rated {case.number} \"{case.subject}\" "
            f"{rating.score} of 5 (agent: {agent}, group: {rating.group.name if rating.group else 'none'}).\n\n"
            f"Comment: {rating.comment or '(none)'}\n\n"
            f"{current_app.config.get('BASE_URL', '').rstrip('/')}/cases/{case.id}")
    queue_email(to=[m.email for m in managers], subject=f"[{case.number}] Low satisfaction rating: {rating.score}/5",
                body_text=body, case=case, dedupe_key=f"csat-alert:{rating.id}:{rating.score}:{int(rating.updated_at.timestamp())}",
                auto_submitted="auto-generated")


def record_funnel_step(attempt: str, step: FunnelStep | str, *, contact: Contact | None = None,
                       article_id: int | None = None, case: Case | None = None, query: str = "") -> DeflectionEvent | None:
    """One step of the deflection funnel; an attempt records each step (and article) once."""
    step = FunnelStep(step)
    attempt = (attempt or "")[:40]
    if not attempt:
        return None
    exists = select(DeflectionEvent.id).where(DeflectionEvent.attempt == attempt, DeflectionEvent.step == step)
    if article_id is not None:
        exists = exists.where(DeflectionEvent.article_id == article_id)
    if step != FunnelStep.SUGGESTIONS_SHOWN and db.session.scalar(exists.limit(1)) is not None:
        return None
    if step == FunnelStep.FORM_ABANDONED and db.session.scalar(
        select(DeflectionEvent.id).where(DeflectionEvent.attempt == attempt,
                                         DeflectionEvent.step == FunnelStep.CASE_CREATED).limit(1)):
        return None  # a form that was sent is not abandoned
    event = DeflectionEvent(attempt=attempt, step=step, contact_id=contact.id if contact else None,
                            article_id=article_id, case_id=case.id if case else None, query=(query or "")[:300])
    db.session.add(event)
    db.session.flush()
    return event
