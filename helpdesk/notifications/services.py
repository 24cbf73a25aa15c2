"""State changes to follows and notifications. Services flush; the caller commits."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, delete, or_, select, update

from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.notifications.models import Digest, Follow, Notification, NotificationSetting
from helpdesk.notifications.queries import TARGETS, setting_for
from helpdesk.people.models import User
from helpdesk.types import utcnow

TITLE_MAX = 300


def _check_type(target_type: str) -> None:
    if target_type not in TARGETS:
        raise ValidationFailed({"target_type": f"{target_type!r} cannot be followed."})


def _case(target_id: int):
    from helpdesk.cases.models import Case

    case = db.session.get(Case, target_id)
    if case is None:
        raise NotFound(f"No case {target_id}.")
    return case


def follow(user: User, target_type: str, target_id: int) -> None:
    """Start following; following twice is the same as once."""
    _check_type(target_type)
    if target_type == "case":
        # Cases keep their followers on the case (shown in its panel, with an Activity row).
        from helpdesk.cases.services import follow_case

        follow_case(user, _case(target_id))
        return
    if not is_following(user, target_type, target_id):
        db.session.add(Follow(user_id=user.id, target_type=target_type, target_id=int(target_id)))
        db.session.flush()


def unfollow(user: User, target_type: str, target_id: int) -> None:
    _check_type(target_type)
    if target_type == "case":
        from helpdesk.cases.services import unfollow_case

        unfollow_case(user, _case(target_id))
    db.session.execute(delete(Follow).where(Follow.user_id == user.id, Follow.target_type == target_type,
                                            Follow.target_id == int(target_id)))
    db.session.flush()


def is_following(user: User, target_type: str, target_id: int) -> bool:
    if target_type == "case":
        from helpdesk.cases.models import case_followers

        if db.session.scalar(select(case_followers.c.user_id).where(
                case_followers.c.case_id == target_id, case_followers.c.user_id == user.id)) is not None:
            return True
    return db.session.scalar(select(Follow.id).where(
        Follow.user_id == user.id, Follow.target_type == target_type, Follow.target_id == int(target_id))) is not None


def followers(target_type: str, target_id: int) -> list[User]:
    """Everyone following the record, active or not, by name."""
    _check_type(target_type)
    ids = select(Follow.user_id).where(Follow.target_type == target_type, Follow.target_id == int(target_id))
    condition = User.id.in_(ids)
    if target_type == "case":
        from helpdesk.cases.models import case_followers

        condition = or_(condition, User.id.in_(select(case_followers.c.user_id).where(case_followers.c.case_id == target_id)))
    return list(db.session.scalars(select(User).where(condition).order_by(User.name, User.id)))


def notify(users: Iterable[User], *, kind: str, title: str, url: str, body: str = "",
           target: tuple[str, int] | None = None, actor: User | None = None) -> list[Notification]:
    """Add a notification for each user (not the actor who caused it, not a deactivated user).

    A user who still has an unread notification of the same kind about the same target
    (or the same url when there is no target) gets that one refreshed instead of a second.
    """
    people = {u.id: u for u in users if u is not None and u.active and (actor is None or u.id != actor.id)}
    if not people:
        return []
    title = " ".join((title or "").split())[:TITLE_MAX]
    target_type, target_id = target if target else (None, None)
    same = [Notification.kind == kind, Notification.read_at.is_(None), Notification.user_id.in_(people)]
    if target:
        same += [Notification.target_type == target_type, Notification.target_id == target_id]
    else:
        same += [Notification.target_type.is_(None), Notification.url == url]
    now = utcnow()
    existing = {n.user_id: n for n in db.session.scalars(select(Notification).where(*same))}
    made = []
    for user_id in sorted(people):
        row = existing.get(user_id)
        if row is None:
            row = Notification(user_id=user_id, kind=kind, target_type=target_type, target_id=target_id)
            db.session.add(row)
        row.title, row.body, row.url, row.created_at = title, body or "", url or "", now
        made.append(row)
    db.session.flush()
    return made


def mark_read(user: User, notification: Notification) -> Notification:
    if notification.user_id != user.id:
        raise NotFound("No such notification.")
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.flush()
    return notification


def mark_all_read(user: User) -> int:
    result = db.session.execute(update(Notification)
                                .where(Notification.user_id == user.id, Notification.read_at.is_(None))
                                .values(read_at=utcnow()))
    return result.rowcount


def set_digest(user: User, digest: Digest | str) -> NotificationSetting:
    try:
        digest = Digest(digest)
    except ValueError:
        raise ValidationFailed({"digest": "Choose off or daily."}) from None
    setting = setting_for(user)
    if setting not in db.session:
        db.session.add(setting)
    setting.digest = digest
    db.session.flush()
    return setting


# --- case events (called from helpdesk.cases.services) ---------------------------------------


def case_opened(case, actor) -> None:
    """Tell whoever follows the new case's customer (the contact or the organization), and the
    assignee it was opened for. One indexed lookup when nobody follows anyone."""
    targets = [and_(Follow.target_type == kind, Follow.target_id == target_id)
               for kind, target_id in (("contact", case.contact_id), ("organization", case.organization_id))
               if target_id is not None]
    if targets:
        people = db.session.scalars(select(User).where(User.id.in_(select(Follow.user_id).where(or_(*targets)))))
        customer = case.contact.name if case.contact is not None else case.organization.name
        notify(people, kind="case.opened", title=f"New case {case.number} from {customer}: {case.subject}",
               url=f"/cases/{case.id}", target=("case", case.id), actor=actor if isinstance(actor, User) else None)
    case_assigned(case, case.assignee, actor)


def case_replied_by_customer(case, message) -> None:
    """Tell the case's followers, and whoever follows that customer, that the customer wrote."""
    author = message.author_name
    people = {u.id: u for u in followers("case", case.id)}
    for target_type, target_id in (("contact", case.contact_id), ("organization", case.organization_id)):
        if target_id is not None:
            people.update((u.id, u) for u in followers(target_type, target_id))
    notify(people.values(), kind="case.customer_replied", title=f"{author} replied on {case.number}: {case.subject}",
           url=f"/cases/{case.id}", body=(message.body_text or "")[:300], target=("case", case.id))


def case_assigned(case, assignee: User | None, actor) -> None:
    """Tell the new assignee, unless they took the case themselves."""
    if assignee is None:
        return
    who = getattr(actor, "name", None) or "The system"
    notify([assignee], kind="case.assigned", title=f"{who} assigned {case.number} to you: {case.subject}",
           url=f"/cases/{case.id}", target=("case", case.id), actor=actor if isinstance(actor, User) else None)
