"""The agent workspace: queues, the board, the case page and its actions."""
from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from helpdesk.auth.policies import require
from helpdesk.cases import queries, services
from helpdesk.cases.attachments import blob_path
from helpdesk.cases.models import Attachment, Channel, CustomField, Priority, SavedView, Status
from helpdesk.cases.policies import allowed_statuses
from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.people import queries as people_queries
from helpdesk.people.models import Group, User
from helpdesk.web import is_partial_request, render

bp = Blueprint("cases", __name__)

BOARD_STATUSES = [Status.NEW, Status.ASSIGNED, Status.OPEN, Status.WAIT_CUSTOMER, Status.WAIT_THIRD_PARTY, Status.RESOLVED]


@bp.before_request
@login_required
def _require_login():
    require(current_user, "case.view")


def _filter() -> queries.CaseFilter:
    return queries.CaseFilter.from_args(request.args)


def _back_to(case_id: int | None = None) -> str:
    target = request.form.get("next") or request.args.get("next")
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("cases.show", case_id=case_id) if case_id else url_for("cases.index")


def _uploads(name: str = "attachments") -> list[services.Upload]:
    return [services.Upload(f.filename, f.stream) for f in request.files.getlist(name) if f and f.filename]


def _version() -> int | None:
    raw = request.form.get("version")
    return int(raw) if raw and raw.isdigit() else None


@bp.get("/")
def home():
    return redirect(url_for("cases.index"))


@bp.get("/cases")
def index():
    f = _filter()
    page = queries.case_page(current_user, f, request.args.get("cursor"), current_app.config["PAGE_SIZE"])
    context = dict(f=f, page=page, **_list_context(f))
    if is_partial_request() and request.headers.get("HX-Target") == "case-list":
        return render("cases/_list.html", status=200, **context)
    return render("cases/index.html", counts=queries.queue_counts(current_user),
                  views=queries.saved_views(current_user), **context)


def _list_context(f: queries.CaseFilter) -> dict:
    return dict(
        queues=queries.QUEUES, sorts=queries.SORTS, statuses=list(Status), priorities=list(Priority),
        channels=list(Channel), groups=people_queries.all_groups(), agents=queries.active_agents(),
        organizations=people_queries.search_organizations(limit=500),
        url_with=lambda **kw: url_for("cases.index", **f.to_args(**kw)),
    )


@bp.get("/cases/board")
def board():
    f = _filter()
    columns = []
    for status in BOARD_STATUSES:
        column_filter = queries.CaseFilter(**{**f.__dict__, "status": [status.value]})
        if column_filter.queue in ("mine", "unassigned", "groups", "open") and not status.is_open:
            column_filter.queue = "recent"
        columns.append((status, queries.case_page(current_user, column_filter, limit=30)))
    return render("cases/board.html", f=f, columns=columns, **_list_context(f))


@bp.post("/cases/<int:case_id>/move")
def move(case_id: int):
    case = queries.get_case(case_id)
    require(current_user, "case.update")
    try:
        status = Status(request.form.get("status", ""))
    except ValueError:
        raise ValidationFailed({"status": f"{request.form.get('status')!r} is not a status."}) from None
    services.change_status(current_user, case, status, version=_version())
    db.session.commit()
    if is_partial_request():
        return render_template("cases/_card.html", case=case)
    flash(gettext('%(number)s is now %(label)s.', number=case.number, label=case.status.label), "success")
    return redirect(_back_to() if request.form.get("next") else url_for("cases.board"))


@bp.route("/cases/new", methods=["GET", "POST"])
def new():
    require(current_user, "case.create")
    errors, form = {}, request.form
    if request.method == "POST":
        try:
            case = services.open_case(current_user, **_open_case_args(form))
            db.session.commit()
            flash(gettext('%(number)s opened.', number=case.number), "success")
            return redirect(url_for("cases.show", case_id=case.id))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
    return render("cases/new.html", status=422 if errors else 200, errors=errors, form=form,
                  custom_fields=_custom_fields(), **_list_context(queries.CaseFilter()))


def _open_case_args(form) -> dict:
    errors = {}
    contact = None
    if form.get("contact_email"):
        from helpdesk.people.services import find_or_create_contact

        try:
            contact = find_or_create_contact(current_user, email=form["contact_email"], name=form.get("contact_name", ""))
        except ValidationFailed as exc:
            errors["contact_email"] = exc.errors.get("email") or exc.errors.get("name") or exc.message
    group = _optional(Group, form.get("group_id"), "group_id", errors)
    assignee = _optional(User, form.get("assignee_id"), "assignee_id", errors)
    try:
        priority = Priority(int(form.get("priority") or Priority.NORMAL))
    except ValueError:
        errors["priority"] = gettext("Choose a priority.")
        priority = Priority.NORMAL
    try:
        channel = Channel(form.get("channel") or Channel.WEB.value)
    except ValueError:
        errors["channel"] = gettext("Choose a channel.")
        channel = Channel.WEB
    if errors:
        raise ValidationFailed(errors)
    return dict(subject=form.get("subject", ""), body=form.get("body", ""), contact=contact, group=group,
                assignee=assignee, priority=priority, channel=channel, tags=_split_tags(form.get("tags", "")),
                custom_fields=_custom_values(form), uploads=_uploads())


def _optional(model, raw, name, errors):
    if not raw:
        return None
    obj = db.session.get(model, int(raw)) if str(raw).isdigit() else None
    if obj is None:
        errors[name] = gettext("No such choice.")
    return obj


def _split_tags(raw: str) -> list[str]:
    return [t for t in (raw or "").replace(";", ",").split(",") if t.strip()]


def _custom_fields() -> list[CustomField]:
    return list(db.session.scalars(db.select(CustomField).where(CustomField.active.is_(True)).order_by(CustomField.position, CustomField.label)))


def _custom_values(form) -> dict:
    return {f.key: form.get(f"custom_{f.key}", "") for f in _custom_fields()}


@bp.get("/cases/<int:case_id>")
def show(case_id: int):
    case = queries.get_case(case_id)
    if case.merged_into_id and not request.args.get("stay"):
        flash(gettext('%(number)s was merged into %(number2)s.', number=case.number, number2=case.merged_into.number), "info")
        return redirect(url_for("cases.show", case_id=case.merged_into_id))
    services.mark_presence(current_user, case)
    db.session.commit()
    return render("cases/show.html", **_case_context(case))


def _case_context(case, errors=None, status_code=200, **extra) -> dict:
    f = _filter()
    prev_id, next_id = queries.neighbours(current_user, f, case)
    return dict(
        case=case, timeline=queries.timeline(case), errors=errors or {}, f=f,
        prev_id=prev_id, next_id=next_id, queue_args=urlencode(f.to_args(), doseq=True),
        statuses=allowed_statuses(case.status), priorities=list(Priority), groups=people_queries.all_groups(),
        agents=queries.active_agents(), custom_fields=_custom_fields(), viewers=queries.viewers(case, current_user),
        following=current_user in case.followers, **extra,
    )


@bp.post("/cases/<int:case_id>/reply")
def reply(case_id: int):
    return _post_message(case_id, "reply")


@bp.post("/cases/<int:case_id>/note")
def note(case_id: int):
    return _post_message(case_id, "note")


def _post_message(case_id: int, kind: str):
    case = queries.get_case(case_id)
    require(current_user, f"case.{kind}")
    body = request.form.get("body", "")
    try:
        if kind == "reply":
            status = Status(request.form["status"]) if request.form.get("status") else None
            services.reply_to_case(current_user, case, body=body, uploads=_uploads(), status=status, version=_version())
        else:
            services.add_note(current_user, case, body=body, uploads=_uploads(), version=_version())
        services.mark_presence(current_user, case, replying=False)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        case = queries.get_case(case_id)
        return render("cases/show.html", "cases/_workspace.html", status=422,
                      **_case_context(case, errors={f"{kind}_{k}": v for k, v in exc.errors.items()}, draft={kind: body}))
    if is_partial_request():
        return render("cases/show.html", "cases/_workspace.html", **_case_context(case))
    flash(gettext("Reply sent.") if kind == "reply" else gettext("Note added."), "success")
    return redirect(url_for("cases.show", case_id=case.id))


@bp.post("/cases/<int:case_id>/update")
def update(case_id: int):
    case = queries.get_case(case_id)
    require(current_user, "case.update")
    form = request.form
    data = {k: form[k] for k in ("status", "priority", "assignee_id", "group_id", "subject") if k in form}
    if "tags" in form:
        data["tags"] = _split_tags(form["tags"])
    if form.get("custom_fields"):
        data["custom_fields"] = _custom_values(form)
    try:
        services.update_case(current_user, case, data, version=_version())
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        case = queries.get_case(case_id)
        return render("cases/show.html", "cases/_workspace.html", status=422, **_case_context(case, errors=exc.errors, form=form))
    if is_partial_request():
        return render("cases/show.html", "cases/_workspace.html", **_case_context(case))
    flash(gettext("Case updated."), "success")
    return redirect(url_for("cases.show", case_id=case.id))


@bp.post("/cases/<int:case_id>/follow")
def follow(case_id: int):
    case = queries.get_case(case_id)
    if request.form.get("follow") == "0":
        services.unfollow_case(current_user, case)
    else:
        services.follow_case(current_user, case)
    db.session.commit()
    if is_partial_request():
        return render("cases/show.html", "cases/_workspace.html", **_case_context(case))
    return redirect(url_for("cases.show", case_id=case.id))


@bp.post("/cases/<int:case_id>/merge")
def merge(case_id: int):
    source = queries.get_case(case_id)
    require(current_user, "case.merge")
    number = (request.form.get("target") or "").strip()
    target = queries.get_case_by_number(number) or (queries.get_case(int(number)) if number.isdigit() else None)
    if target is None:
        raise ValidationFailed({"target": f"No case {number or '(empty)'}."})
    services.merge_cases(current_user, source, target)
    db.session.commit()
    flash(gettext('%(number)s merged into %(number2)s.', number=source.number, number2=target.number), "success")
    return redirect(url_for("cases.show", case_id=target.id))


@bp.post("/messages/<int:message_id>/split")
def split(message_id: int):
    message = queries.get_message(message_id)
    queries.get_case(message.case_id)
    require(current_user, "case.split")
    case = services.split_message(current_user, message, request.form.get("subject") or None)
    db.session.commit()
    flash(gettext('Message split into %(number)s.', number=case.number), "success")
    return redirect(url_for("cases.show", case_id=case.id))


@bp.post("/cases/bulk")
def bulk():
    require(current_user, "case.bulk")
    ids = [int(i) for i in request.form.getlist("case_ids") if i.isdigit()]
    if not ids:
        raise ValidationFailed({"case_ids": gettext("Select at least one case.")})
    cases = [queries.get_case(i) for i in ids]
    action = request.form.get("action")
    if action == "merge":
        target = min(cases, key=lambda c: c.id)
        for case in cases:
            if case.id != target.id:
                services.merge_cases(current_user, case, target)
        done = gettext("Merged %(count)s case(s) into %(number)s.", count=len(cases) - 1, number=target.number)
    elif action in ("status", "priority", "assignee_id", "group_id"):
        value = request.form.get(action, "")
        for case in cases:
            services.update_case(current_user, case, {action: value})
        done = gettext("Updated %(count)s case(s).", count=len(cases))
    elif action == "tag":
        for case in cases:
            services.add_tags(current_user, case, _split_tags(request.form.get("tag", "")))
        done = gettext("Tagged %(count)s case(s).", count=len(cases))
    else:
        raise ValidationFailed({"action": gettext("Choose what to do with the selected cases.")})
    db.session.commit()
    flash(done, "success")
    return redirect(_back_to())


@bp.get("/attachments/<int:attachment_id>/<path:filename>")
def attachment(attachment_id: int, filename: str):
    item = db.session.get(Attachment, attachment_id)
    if item is None or item.filename != filename:
        raise NotFound(gettext("No such attachment."))
    queries.get_case(item.message.case_id)
    path = blob_path(current_app.config["ATTACHMENT_DIR"], item.blob_sha256)
    inline = item.blob.content_type.startswith("image/") and item.blob.content_type != "image/svg+xml"
    response = send_file(path, mimetype=item.blob.content_type, as_attachment=not inline, download_name=item.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox"
    return response


@bp.post("/cases/<int:case_id>/presence")
def presence(case_id: int):
    case = queries.get_case(case_id)
    if request.form.get("leave"):
        services.leave_case(current_user, case)
    else:
        services.mark_presence(current_user, case, replying=request.form.get("replying") == "1")
    db.session.commit()
    return render_template("cases/_presence.html", case=case, viewers=queries.viewers(case, current_user))


@bp.post("/views")
def save_view():
    query = request.form.get("query", "")
    services.save_view(current_user, request.form.get("name", ""), query)
    db.session.commit()
    flash(gettext("View saved."), "success")
    return redirect(url_for("cases.index") + ("?" + query if query else ""))


@bp.post("/views/<int:view_id>/delete")
def delete_view(view_id: int):
    view = db.session.get(SavedView, view_id)
    if view is None:
        abort(404)
    services.delete_view(current_user, view)
    db.session.commit()
    flash(gettext("View deleted."), "info")
    return redirect(url_for("cases.index"))




@bp.app_template_filter("zip_labels")
def zip_labels(values, objects, attr: str = "label") -> list[tuple[str, str]]:
    """Pair option values with their labels for the select macro."""
    return [(str(v), o if type(o) is str else str(getattr(o, attr))) for v, o in zip(values, objects)]


bp.add_app_template_global(allowed_statuses, "allowed_statuses")
