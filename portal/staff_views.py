"""Staff actions on portal access: invite a contact, set their portal role."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user, login_required

from helpdesk.auth.policies import require
from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.people.models import Contact
from helpdesk.portal_access import services

bp = Blueprint("portal_staff", __name__, url_prefix="/portal/staff")


@bp.post("/contacts/<int:contact_id>/invite")
@login_required
def invite(contact_id: int):
    require(current_user, "contact.edit")
    contact = db.session.get(Contact, contact_id)
    if contact is None:
        raise NotFound("No such contact.")
    try:
        services.invite_contact(current_user, contact, role=request.form.get("portal_role") or None)
    except ValidationFailed as exc:
        db.session.rollback()
        flash("; ".join(exc.errors.values()), "danger")
    else:
        db.session.commit()
        flash(f"{contact.name} is invited to the portal.", "success")
    return redirect(url_for("people.contact", contact_id=contact.id))
