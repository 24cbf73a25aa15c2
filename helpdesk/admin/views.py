"""Admin pages: staff accounts, groups and custom fields."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required
from sqlalchemy import select

from helpdesk.admin import services
from helpdesk.auth.policies import require
from helpdesk.cases.models import CustomField, FieldType
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.people import queries as people_queries
from helpdesk.people import services as people_services
from helpdesk.people.models import Group, Role, User
from helpdesk.web import render

bp = Blueprint("admin", __name__, url_prefix="/admin")

ROLES = [(r.value, r.label) for r in Role]
FIELD_TYPES = [(t.value, t.value.capitalize()) for t in FieldType]


def _allowed(action: str):
    """Signed in, and allowed to take `action`."""
    def decorate(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            require(current_user, action)
            return view(*args, **kwargs)
        return wrapped
    return decorate


def _pick(model, raw_ids: list[str], field: str) -> list:
    """The rows a multi-select named; an id that matches nothing is a field error."""
    rows = []
    for raw in raw_ids:
        row = db.session.get(model, int(raw)) if str(raw).isdigit() else None
        if row is None:
            raise ValidationFailed({field: f"No such {model.__name__.lower()}: {raw}."})
        rows.append(row)
    return rows


def _posted() -> dict:
    """The submitted form as a dict, multi-valued fields as lists."""
    values = request.form.to_dict()
    for name in ("group_ids", "member_ids"):
        values[name] = request.form.getlist(name)
    return values


# --- users ---------------------------------------------------------------------------------


@bp.get("/users")
@_allowed("admin.users")
def users():
    return render("admin/users.html", users=people_queries.all_users())


@bp.route("/users/new", methods=["GET", "POST"])
@_allowed("admin.users")
def new_user():
    errors, values = {}, {"role": Role.AGENT.value, "group_ids": []}
    if request.method == "POST":
        values = _posted()
        try:
            user = people_services.create_user(
                current_user, email=values.get("email", ""), name=values.get("name", ""),
                password=values.get("password", ""), role=values.get("role", ""),
                groups=_pick(Group, values["group_ids"], "group_ids"))
            db.session.commit()
            flash(gettext('%(name)s can now sign in as %(email)s.', name=user.name, email=user.email), "success")
            return redirect(url_for("admin.users"))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
    return _user_form(None, values, errors)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@_allowed("admin.users")
def edit_user(user_id: int):
    user = people_queries.get_or_404(User, user_id)
    errors = {}
    values = {"name": user.name, "role": user.role.value, "active": user.active,
              "group_ids": [str(g.id) for g in user.groups]}
    if request.method == "POST":
        values = _posted()
        try:
            people_services.update_user(
                current_user, user, name=values.get("name", ""), role=values.get("role", ""),
                active=bool(values.get("active")), groups=_pick(Group, values["group_ids"], "group_ids"),
                password=values.get("password") or None)
            db.session.commit()
            flash(gettext('%(name)s saved.', name=user.name), "success")
            return redirect(url_for("admin.users"))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
    return _user_form(user, values, errors)


def _user_form(user: User | None, values: dict, errors: dict):
    values.pop("password", None)  # never echo a password back into the page
    return render("admin/user_form.html", status=422 if errors else 200, user=user, values=values,
                  errors=errors, roles=ROLES, groups=people_queries.all_groups())


# --- groups --------------------------------------------------------------------------------


@bp.get("/groups")
@_allowed("admin.groups")
def groups():
    return render("admin/groups.html", groups=people_queries.all_groups())


@bp.route("/groups/new", methods=["GET", "POST"])
@_allowed("admin.groups")
def new_group():
    errors, values = {}, {"member_ids": []}
    if request.method == "POST":
        values = _posted()
        try:
            group = people_services.create_group(
                current_user, name=values.get("name", ""), description=values.get("description", ""),
                members=_pick(User, values["member_ids"], "member_ids"))
            db.session.commit()
            flash(gettext('Group %(name)s created.', name=group.name), "success")
            return redirect(url_for("admin.groups"))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
    return _group_form(None, values, errors)


@bp.route("/groups/<int:group_id>", methods=["GET", "POST"])
@_allowed("admin.groups")
def edit_group(group_id: int):
    group = people_queries.get_or_404(Group, group_id)
    errors = {}
    values = {"name": group.name, "description": group.description, "member_ids": [str(u.id) for u in group.members]}
    if request.method == "POST":
        values = _posted()
        try:
            people_services.update_group(
                current_user, group, name=values.get("name", ""), description=values.get("description", ""),
                members=_pick(User, values["member_ids"], "member_ids"))
            db.session.commit()
            flash(gettext('Group %(name)s saved.', name=group.name), "success")
            return redirect(url_for("admin.groups"))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
    return _group_form(group, values, errors)


def _group_form(group: Group | None, values: dict, errors: dict):
    options = [(u.id, u.name if u.active else f"{u.name} (deactivated)") for u in people_queries.all_users()]
    return render("admin/group_form.html", status=422 if errors else 200, group=group, values=values,
                  errors=errors, user_options=options)


# --- custom fields -------------------------------------------------------------------------


@bp.get("/custom-fields")
@_allowed("admin.custom_fields")
def custom_fields():
    fields = db.session.scalars(select(CustomField).order_by(CustomField.position, CustomField.label)).all()
    return render("admin/custom_fields.html", fields=fields)


@bp.route("/custom-fields/new", methods=["GET", "POST"])
@_allowed("admin.custom_fields")
def new_custom_field():
    errors, values = {}, {"type": FieldType.TEXT.value, "active": True, "position": 0}
    if request.method == "POST":
        values = request.form.to_dict()
        try:
            field = services.create_custom_field(current_user, **_field_args(values), key=values.get("key", ""),
                                                 type=values.get("type", ""))
            db.session.commit()
            flash(gettext('Custom field %(label)s created.', label=field.label), "success")
            return redirect(url_for("admin.custom_fields"))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
    return _field_form(None, values, errors)


@bp.route("/custom-fields/<int:field_id>", methods=["GET", "POST"])
@_allowed("admin.custom_fields")
def edit_custom_field(field_id: int):
    field = people_queries.get_or_404(CustomField, field_id)
    errors = {}
    values = {"label": field.label, "choices": "\n".join(field.choices or []), "required": field.required,
              "active": field.active, "position": field.position}
    if request.method == "POST":
        values = request.form.to_dict()
        try:
            services.update_custom_field(current_user, field, **_field_args(values))
            db.session.commit()
            flash(gettext('Custom field %(label)s saved.', label=field.label), "success")
            return redirect(url_for("admin.custom_fields"))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
    return _field_form(field, values, errors)


def _field_args(values: dict) -> dict:
    return dict(label=values.get("label", ""), choices=values.get("choices", ""), position=values.get("position", 0),
                required=bool(values.get("required")), active=bool(values.get("active")))


def _field_form(field: CustomField | None, values: dict, errors: dict):
    return render("admin/custom_field_form.html", status=422 if errors else 200, field=field, values=values,
                  errors=errors, field_types=FIELD_TYPES)
