"""Mailroom pages: the raw-MIME HTTP endpoint and the admin list of failed and quarantined mail."""
from __future__ import annotations

import hmac
from functools import wraps

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required
from sqlalchemy import func, select

from helpdesk.errors import PermissionDenied, ValidationFailed
from helpdesk.extensions import csrf, db
from helpdesk.people.models import Group, Role
from helpdesk.web import is_partial_request, render
from mailroom import services
from mailroom.models import InboundEmail, InboundStatus, Mailbox, MailRule

bp = Blueprint("mailroom", __name__, url_prefix="/mailroom")
PAGE = 100


@bp.post("/inbound")
@csrf.exempt
def receive_inbound():
    """Raw MIME in the body, `Authorization: Bearer <MAILROOM_INBOUND_TOKEN>`; ?mailbox= picks the mailbox."""
    token = current_app.config.get("MAILROOM_INBOUND_TOKEN")
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not token or not hmac.compare_digest(given.encode(), token.encode()):
        return jsonify(error="Unauthorized", message="A valid bearer token is required."), 401
    raw = request.get_data(cache=False)
    if not raw.strip():
        return jsonify(error="Unprocessable", message="The body must be a raw MIME message.", field="body"), 422
    mailbox = None
    if request.args.get("mailbox"):
        mailbox = db.session.scalar(select(Mailbox).where(Mailbox.address == request.args["mailbox"].lower()))
        if mailbox is None:
            return jsonify(error="Unprocessable", message="No such mailbox.", field="mailbox"), 422
    inbound, created = services.store_inbound(raw, mailbox, "http")
    return jsonify(id=inbound.id, created=created, status=inbound.status.value), 202 if created else 200


def _admin(view):
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if current_user.role != Role.ADMIN:
            raise PermissionDenied(gettext("Only an admin may manage the mailroom."))
        return view(*args, **kwargs)
    return wrapped


@bp.get("/admin")
@_admin
def quarantine():
    status = request.args.get("status", "failed")
    wanted = [InboundStatus.FAILED, InboundStatus.SCREENED] if status == "all" else [InboundStatus(status)] \
        if status in {s.value for s in InboundStatus} else [InboundStatus.FAILED]
    rows = db.session.scalars(
        select(InboundEmail).where(InboundEmail.status.in_(wanted)).order_by(InboundEmail.id.desc()).limit(PAGE)
    ).all()
    return render("mailroom/quarantine.html", "mailroom/_inbound_table.html", rows=rows, current=status,
                  statuses=["failed", "screened", "all"])


@bp.post("/admin/<int:inbound_id>/<action>")
@_admin
def act_on_inbound(inbound_id: int, action: str):
    inbound = db.session.get(InboundEmail, inbound_id) or abort(404)
    try:
        if action == "retry":
            services.retry_inbound(inbound)
            message = "queued again"
        elif action == "release":
            services.release_inbound(inbound)
            message = f"released: {inbound.status.label.lower()}"
        elif action == "delete":
            services.delete_inbound(inbound)
            message = "deleted"
        elif action == "block":
            if not inbound.sender:
                raise ValidationFailed({"sender": gettext("This mail has no sender to block.")})
            services.block_sender(inbound.sender)
            message = f"{inbound.sender} is blocked"
        else:
            abort(404)
        db.session.commit()
        flash(gettext('Mail %(inbound_id)s: %(message)s.', inbound_id=inbound_id, message=message), "success")
    except ValidationFailed as exc:
        db.session.rollback()
        flash(gettext('Mail %(inbound_id)s: %(message)s', inbound_id=inbound_id, message=exc.message), "danger")
    return redirect(url_for("mailroom.quarantine", status=request.args.get("status", "failed")))


@bp.get("/admin/<int:inbound_id>")
@_admin
def show_inbound(inbound_id: int):
    inbound = db.session.get(InboundEmail, inbound_id) or abort(404)
    return render("mailroom/inbound.html", inbound=inbound,
                  raw=inbound.raw[:200_000].decode("utf-8", "replace"))


# --- mailboxes and rules ------------------------------------------------------------------------


MAILBOX_FIELDS = ("address", "name", "from_name", "group_id", "signature", "auto_reply", "auto_reply_template",
                  "plus_addressing", "active", "imap_host", "imap_port", "imap_security", "imap_username",
                  "imap_folder", "imap_processed_folder")


@bp.get("/admin/mailboxes")
@_admin
def mailboxes():
    boxes = db.session.scalars(select(Mailbox).order_by(Mailbox.address)).all()
    rule_counts = dict(db.session.execute(
        select(MailRule.mailbox_id, func.count(MailRule.id)).group_by(MailRule.mailbox_id)).all())
    return render("mailroom/mailboxes.html", mailboxes=boxes, rule_counts=rule_counts)


@bp.route("/admin/mailboxes/new", methods=["GET", "POST"])
@bp.route("/admin/mailboxes/<int:mailbox_id>", methods=["GET", "POST"])
@_admin
def edit_mailbox(mailbox_id: int | None = None):
    mailbox = (db.session.get(Mailbox, mailbox_id) or abort(404)) if mailbox_id else None
    if mailbox is not None:
        values = {f: getattr(mailbox, f) for f in MAILBOX_FIELDS}
    else:
        values = {"auto_reply": True, "plus_addressing": True, "active": True, "imap_security": "ssl", "imap_folder": "INBOX"}
    errors = {}
    if request.method == "POST":
        values = request.form.to_dict()
        try:
            mailbox = services.save_mailbox(current_user, mailbox, values)
            db.session.commit()
            flash(gettext('Mailbox %(address)s saved.', address=mailbox.address), "success")
            return redirect(url_for("mailroom.mailboxes"))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
    return render("mailroom/mailbox_form.html", status=422 if errors else 200, mailbox=mailbox, values=values,
                  errors=errors, groups=db.session.scalars(select(Group).order_by(Group.name)).all(),
                  rules=db.session.scalars(select(MailRule).where(MailRule.mailbox_id == mailbox.id)
                                           .order_by(MailRule.position, MailRule.id)).all() if mailbox else [])


@bp.get("/admin/rules")
@_admin
def rules():
    return render("mailroom/rules.html", rules=db.session.scalars(select(MailRule).order_by(MailRule.position, MailRule.id)).all(),
                  mailboxes=db.session.scalars(select(Mailbox).order_by(Mailbox.address)).all())


@bp.route("/admin/rules/new", methods=["GET", "POST"])
@bp.route("/admin/rules/<int:rule_id>", methods=["GET", "POST"])
@_admin
def edit_rule(rule_id: int | None = None):
    rule = (db.session.get(MailRule, rule_id) or abort(404)) if rule_id else None
    values = _rule_values(rule) if rule else {"position": 0, "active": True}
    errors = {}
    if request.method == "POST":
        values = request.form.to_dict()
        try:
            if values.get("delete") and rule is not None:
                services.delete_rule(current_user, rule)
            else:
                services.save_rule(
                    current_user, rule, name=values.get("name", ""), conditions_text=values.get("conditions", ""),
                    mailbox=_pick(Mailbox, values.get("mailbox_id")), position=_int(values.get("position")),
                    group=_pick(Group, values.get("group_id")), priority=_int(values.get("priority")) or None,
                    tags=values.get("tags", ""), ignore=bool(values.get("ignore")),
                    forward_to=values.get("forward_to", ""), active=bool(values.get("active")))
            db.session.commit()
            flash(gettext("Rule saved.") if not values.get("delete") else gettext("Rule deleted."), "success")
            return redirect(url_for("mailroom.rules"))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
    return render("mailroom/rule_form.html", status=422 if errors else 200, rule=rule, values=values, errors=errors,
                  mailboxes=db.session.scalars(select(Mailbox).order_by(Mailbox.address)).all(),
                  groups=db.session.scalars(select(Group).order_by(Group.name)).all(), fields=rule_fields())


def rule_fields() -> str:
    from mailroom.rules import FIELDS, OPS

    return f"fields: {', '.join(FIELDS)}, header:NAME; tests: {', '.join(OPS)}"


def _rule_values(rule: MailRule) -> dict:
    a = rule.actions or {}
    return {"name": rule.name, "position": rule.position, "active": rule.active, "mailbox_id": rule.mailbox_id or "",
            "conditions": "\n".join(f"{c['field']} {c['op']} {c['value']}" for c in rule.conditions or []),
            "group_id": a.get("group_id", ""), "priority": a.get("priority", ""), "tags": ", ".join(a.get("tags", [])),
            "ignore": a.get("ignore", False), "forward_to": a.get("forward_to", "")}


def _pick(model, raw):
    if not raw:
        return None
    row = db.session.get(model, int(raw)) if str(raw).isdigit() else None
    if row is None:
        raise ValidationFailed({f"{model.__name__.lower()}_id": f"No such {model.__name__.lower()}."})
    return row


def _int(raw) -> int:
    try:
        return int(raw or 0)
    except ValueError:
        return 0


# --- who is copied on a case (a panel of the case page) -----------------------------------------


@bp.post("/cases/<int:case_id>/watchers")
@login_required
def add_watcher(case_id: int):
    case = _case_for_watchers(case_id)
    email = request.form.get("email", "")
    try:
        services.add_watcher(current_user, case, email=email)
    except ValidationFailed as exc:
        db.session.rollback()
        return _watchers_response(case, status=422, watcher_errors=exc.errors, watcher_email=email)
    db.session.commit()
    return _watchers_response(case)


@bp.post("/cases/<int:case_id>/watchers/<int:contact_id>")
@login_required
def change_watcher(case_id: int, contact_id: int):
    case = _case_for_watchers(case_id)
    if request.form.get("action") == "remove":
        services.remove_watcher(current_user, case, contact_id)
    else:
        services.set_watcher_cc(current_user, case, contact_id, request.form.get("cc") == "1")
    db.session.commit()
    return _watchers_response(case)


def _case_for_watchers(case_id: int):
    from helpdesk.auth.policies import require
    from helpdesk.cases.queries import get_case

    require(current_user, "case.update")
    return get_case(case_id)


def _watchers_response(case, status: int = 200, **context):
    if is_partial_request():
        return render("mailroom/_case_watchers.html", status=status, case=case, **context)
    if status != 200:
        flash(next(iter(context.get("watcher_errors", {}).values()), "Not saved."), "danger")
    return redirect(url_for("cases.show", case_id=case.id) + "#case-watchers")
