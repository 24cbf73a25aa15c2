"""Staff pages about customers: contacts and organizations, their One View, duplicates and merge."""
from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required
from werkzeug.routing import BuildError

from helpdesk.auth.policies import require
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.people import queries, services
from helpdesk.people.models import Contact, ContactRole, Organization
from helpdesk.web import is_partial_request, render

bp = Blueprint("people", __name__)

LIST_PAGE = 50
ROLES = [(r, r.label) for r in ContactRole]


@bp.before_request
@login_required
def _require_login():
    require(current_user, "contact.view")


def _organizations():
    return [(o.id, o.name) for o in queries.all_organizations()]


def _page() -> int:
    return max(request.args.get("page", 1, type=int), 1)


# --- contacts ------------------------------------------------------------------------------


@bp.get("/contacts")
def contacts():
    q, role = request.args.get("q", "").strip(), request.args.get("role", "")
    org_id, page = request.args.get("organization_id", type=int), _page()
    rows = queries.search_contacts(q, LIST_PAGE + 1, role=role, organization_id=org_id, offset=(page - 1) * LIST_PAGE)
    return render("people/contacts.html", "people/_contacts_table.html", contacts=rows[:LIST_PAGE],
                  more=len(rows) > LIST_PAGE, page=page, q=q, role=role, organization_id=org_id, roles=ROLES,
                  organizations=_organizations())


@bp.get("/contacts/options")
def contact_options():
    """For pickers: the contacts matching q as [{id, label}]."""
    contacts = queries.search_contacts(request.args.get("q", ""), limit=20)
    return jsonify([{"id": c.id, "label": str(c)} for c in contacts])


@bp.get("/contacts/duplicates")
def duplicates():
    """The contact form asks, as the user types, who this might already be."""
    args = request.args
    matches = services.duplicate_matches(args.get("name", ""), args.get("email", ""), args.get("phone", ""),
                                         args.get("organization_id", type=int), exclude_id=args.get("exclude", type=int))
    return render("people/_duplicates.html", matches=matches, confirmable=False)


@bp.route("/contacts/new", methods=["GET", "POST"])
def new_contact():
    require(current_user, "contact.edit")
    errors, form, matches = {}, request.form if request.method == "POST" else request.args, []
    if request.method == "POST":
        try:
            contact = services.create_contact(
                current_user, name=form.get("name", ""), email=form.get("email", ""), phone=form.get("phone", ""),
                organization=_organization(form.get("organization_id")), role=form.get("role") or None,
                job_title=form.get("job_title", ""), notes=form.get("notes", ""),
                check_duplicates=form.get("confirm_new") != "1")
            db.session.commit()
            flash(gettext('Contact %(name)s created.', name=contact.name), "success")
            return redirect(url_for("people.contact", contact_id=contact.id))
        except services.DuplicateContacts as exc:
            db.session.rollback()
            matches = exc.matches
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
    return render("people/contact_form.html", status=422 if errors or matches else 200, form=form, errors=errors,
                  matches=matches, contact=None, roles=ROLES, organizations=_organizations())


def _organization(raw: str | None) -> Organization | None:
    if not raw:
        return None
    org = db.session.get(Organization, int(raw)) if raw.isdigit() else None
    if org is None or org.deleted_at is not None:
        raise ValidationFailed({"organization_id": gettext("No such organization.")})
    return org


def _contact(contact_id: int) -> Contact:
    return queries.get_or_404(Contact, contact_id)


@bp.get("/contacts/<int:contact_id>")
def contact(contact_id: int):
    """The contact's One View."""
    contact = _contact(contact_id)
    if contact.merged_into_id is not None:
        target = services.resolve_merged(contact)
        flash(gettext('%(name)s (#%(id)s) was merged into %(name2)s.', name=contact.name, id=contact.id, name2=target.name), "info")
        return redirect(url_for("people.contact", contact_id=target.id))
    return _one_view("people/contact.html", contact=contact)


@bp.get("/contacts/<int:contact_id>/timeline")
def contact_timeline(contact_id: int):
    contact = _contact(contact_id)
    return _timeline(contact=contact, endpoint="people.contact_timeline", key={"contact_id": contact.id})


@bp.route("/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
def edit_contact(contact_id: int):
    require(current_user, "contact.edit")
    contact = _contact(contact_id)
    services._require_live(contact)
    errors, form = {}, request.form
    if request.method == "POST":
        try:
            services.update_contact(current_user, contact, {f: form.get(f, "") for f in services.CONTACT_FIELDS})
            db.session.commit()
            flash(gettext('Contact %(name)s saved.', name=contact.name), "success")
            return redirect(url_for("people.contact", contact_id=contact.id))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
    else:
        form = {f: getattr(contact, f) or "" for f in services.CONTACT_FIELDS if f != "role"}
        form["role"] = contact.role.value if contact.role else ""
    return render("people/contact_form.html", status=422 if errors else 200, form=form, errors=errors, matches=[],
                  contact=contact, roles=ROLES, organizations=_organizations())


@bp.route("/contacts/<int:contact_id>/merge", methods=["GET", "POST"])
def merge_contact(contact_id: int):
    """Merge this (duplicate) contact into another one, which keeps everything."""
    require(current_user, "contact.merge")
    source = _contact(contact_id)
    services._require_live(source)
    errors = {}
    if request.method == "POST":
        try:
            raw = request.form.get("target_id", "")
            target = db.session.get(Contact, int(raw)) if raw.isdigit() else None
            if target is None or target.deleted_at is not None:
                raise ValidationFailed({"target_id": gettext("Choose the contact to keep.")})
            moved = services.merge_contacts(current_user, source, target)
            db.session.commit()
            flash(gettext("%(name)s merged into %(target)s: %(count)s record(s) moved.", name=source.name, target=target.name,
                          count=sum(moved.values())), "success")
            return redirect(url_for("people.contact", contact_id=target.id))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
    suggestions = services.duplicate_matches(source.name, source.email, source.phone, source.organization_id,
                                             exclude_id=source.id)
    q = request.args.get("q", "").strip()
    found = [c for c in queries.search_contacts(q, limit=20) if c.id != source.id] if q else []
    return render("people/merge.html", status=422 if errors else 200, source=source, suggestions=suggestions,
                  found=found, q=q, errors=errors)


# --- organizations -------------------------------------------------------------------------


@bp.get("/organizations")
def organizations():
    q, page = request.args.get("q", "").strip(), _page()
    rows = queries.search_organizations(q, limit=LIST_PAGE + 1, offset=(page - 1) * LIST_PAGE)[:LIST_PAGE + 1]
    shown = rows[:LIST_PAGE]
    return render("people/organizations.html", "people/_organizations_table.html", organizations=shown,
                  counts=queries.contact_counts([o.id for o in shown]), more=len(rows) > LIST_PAGE, page=page, q=q)


ORG_FORM = ("name", "domain", "phone", "website", "address", "notes")


@bp.route("/organizations/new", methods=["GET", "POST"])
def new_organization():
    require(current_user, "contact.edit")
    errors, form = {}, request.form
    if request.method == "POST":
        try:
            org = services.create_organization(current_user, **{f: form.get(f, "") for f in ORG_FORM})
            db.session.commit()
            flash(gettext('Organization %(name)s created.', name=org.name), "success")
            return redirect(url_for("people.organization", organization_id=org.id))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
    return render("people/organization_form.html", status=422 if errors else 200, form=form, errors=errors,
                  organization=None)


@bp.route("/organizations/<int:organization_id>/edit", methods=["GET", "POST"])
def edit_organization(organization_id: int):
    require(current_user, "contact.edit")
    org = queries.get_or_404(Organization, organization_id)
    errors, form = {}, request.form
    if request.method == "POST":
        try:
            services.update_organization(current_user, org, {f: form.get(f, "") for f in ORG_FORM})
            db.session.commit()
            flash(gettext('Organization %(name)s saved.', name=org.name), "success")
            return redirect(url_for("people.organization", organization_id=org.id))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
    else:
        form = {f: getattr(org, f) or "" for f in ORG_FORM}
    return render("people/organization_form.html", status=422 if errors else 200, form=form, errors=errors,
                  organization=org)


@bp.get("/organizations/<int:organization_id>")
def organization(organization_id: int):
    """The organization's One View."""
    org = queries.get_or_404(Organization, organization_id)
    return _one_view("people/organization.html", organization=org, contacts=queries.organization_contacts(org))


@bp.get("/organizations/<int:organization_id>/timeline")
def organization_timeline(organization_id: int):
    org = queries.get_or_404(Organization, organization_id)
    return _timeline(organization=org, endpoint="people.organization_timeline", key={"organization_id": org.id})


# --- One View ------------------------------------------------------------------------------------


def _show() -> list[str]:
    return [s for s in request.args.getlist("show") if s in queries.FILTERS]


def _one_view(template: str, contact: Contact | None = None, organization: Organization | None = None, **extra):
    show = _show()
    page = queries.timeline(contact, organization, show=show, cursor=request.args.get("cursor"))
    key = {"contact_id": contact.id} if contact else {"organization_id": organization.id}
    endpoint = "people.contact_timeline" if contact else "people.organization_timeline"
    return render(template, contact=contact, organization=organization, show=show, page=page, key=key,
                  timeline_endpoint=endpoint, figures=queries.key_figures(contact, organization),
                  filters=queries.available_filters(contact, organization), **extra)


def _timeline(*, endpoint: str, key: dict, contact: Contact | None = None, organization: Organization | None = None):
    """The timeline alone: the filter form swaps it whole; "Older" appends the next page."""
    show = _show()
    if not is_partial_request():
        owner = url_for("people.contact", **key) if contact else url_for("people.organization", **key)
        return redirect(owner + ("?" + request.query_string.decode() if request.query_string else ""))
    page = queries.timeline(contact, organization, show=show, cursor=request.args.get("cursor"))
    template = "people/_timeline_page.html" if request.args.get("cursor") else "people/_timeline.html"
    return render(template, page=page, show=show, timeline_endpoint=endpoint, key=key, contact=contact,
                  organization=organization, filters=queries.available_filters(contact, organization))


@bp.app_template_global()
def link_for(endpoint: str, **values) -> str | None:
    """url_for, or None when the endpoint does not exist (a package that is not installed)."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None
