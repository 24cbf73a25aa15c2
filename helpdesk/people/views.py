"""Staff pages about customers: contacts and organizations."""
from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from helpdesk.auth.policies import require
from helpdesk.cases.models import Case
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.people import queries, services
from helpdesk.people.models import Contact, Organization
from helpdesk.web import render

bp = Blueprint("people", __name__)

RECENT_CASES = 20


@bp.before_request
@login_required
def _require_login():
    require(current_user, "contact.view")


def _recent_cases(**where) -> list[Case]:
    stmt = (select(Case).filter_by(deleted_at=None, merged_into_id=None, **where)
            .order_by(Case.updated_at.desc(), Case.id.desc()).limit(RECENT_CASES))
    return list(db.session.scalars(stmt))


# --- contacts ------------------------------------------------------------------------------


@bp.get("/contacts")
def contacts():
    q = request.args.get("q", "").strip()
    return render("people/contacts.html", "people/_contacts_table.html", contacts=queries.search_contacts(q), q=q)


@bp.get("/contacts/options")
def contact_options():
    """For pickers: the contacts matching q as [{id, label}]."""
    contacts = queries.search_contacts(request.args.get("q", ""), limit=20)
    return jsonify([{"id": c.id, "label": str(c)} for c in contacts])


@bp.route("/contacts/new", methods=["GET", "POST"])
def new_contact():
    require(current_user, "contact.edit")
    errors, form = {}, request.form
    if request.method == "POST":
        try:
            contact = services.create_contact(
                current_user, name=form.get("name", ""), email=form.get("email", ""), phone=form.get("phone", ""),
                organization=_organization(form.get("organization_id")))
            db.session.commit()
            flash(f"Contact {contact.name} created.", "success")
            return redirect(url_for("people.contact", contact_id=contact.id))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
    return render("people/contact_form.html", status=422 if errors else 200, form=form, errors=errors,
                  organizations=[(o.id, o.name) for o in queries.all_organizations()])


def _organization(raw: str | None) -> Organization | None:
    if not raw:
        return None
    org = db.session.get(Organization, int(raw)) if raw.isdigit() else None
    if org is None:
        raise ValidationFailed({"organization_id": "No such organization."})
    return org


@bp.get("/contacts/<int:contact_id>")
def contact(contact_id: int):
    contact = queries.get_or_404(Contact, contact_id)
    return render("people/contact.html", contact=contact, cases=_recent_cases(contact_id=contact.id))


# --- organizations -------------------------------------------------------------------------


@bp.get("/organizations")
def organizations():
    q = request.args.get("q", "").strip()
    return render("people/organizations.html", organizations=queries.search_organizations(q, limit=200), q=q)


@bp.route("/organizations/new", methods=["GET", "POST"])
def new_organization():
    require(current_user, "contact.edit")
    errors, form = {}, request.form
    if request.method == "POST":
        try:
            org = services.create_organization(current_user, name=form.get("name", ""), domain=form.get("domain", ""),
                                               phone=form.get("phone", ""))
            db.session.commit()
            flash(f"Organization {org.name} created.", "success")
            return redirect(url_for("people.organization", organization_id=org.id))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
    return render("people/organization_form.html", status=422 if errors else 200, form=form, errors=errors)


@bp.get("/organizations/<int:organization_id>")
def organization(organization_id: int):
    org = queries.get_or_404(Organization, organization_id)
    contacts = sorted(org.contacts, key=lambda c: c.name.lower())
    return render("people/organization.html", organization=org, contacts=contacts,
                  cases=_recent_cases(organization_id=org.id))
