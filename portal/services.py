"""State changes the portal makes on a customer's behalf, through the core's case services."""
from __future__ import annotations

from typing import Iterable

from flask_babel import gettext

from helpdesk.cases import services as cases
from helpdesk.cases.models import Activity, Case, Channel, Status
from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.mail.services import queue_email
from helpdesk.people.models import Contact
from helpdesk.people.services import _check_email, find_or_create_contact, normalize_email
from helpdesk.portal_access.services import spend_email_allowance
from helpdesk.portal_access.tokens import make_token, read_token, site_link
from helpdesk.types import utcnow
from portal import queries
from portal.models import ContactRequest

BODY_MAX = 20_000


def open_portal_case(contact: Contact, *, subject: str, body: str, product_id=None, asset_id=None,
                     uploads: Iterable[cases.Upload] = ()) -> Case:
    """A new case from the cabinet; the product and asset must be ones the customer may pick."""
    errors = {}
    if len(body or "") > BODY_MAX:
        errors["body"] = gettext("At most %(n)d characters.", n=BODY_MAX)
    asset = product = None
    if asset_id not in (None, ""):
        try:
            asset = queries.asset_for_contact(contact, int(asset_id))
        except (NotFound, ValueError):
            errors["asset_id"] = gettext("Choose one of your assets.")
    if product_id not in (None, ""):
        product = next((p for p in queries.products_for_contact(contact) if str(p.id) == str(product_id)), None)
        if product is None:
            errors["product_id"] = gettext("Choose one of the products listed.")
    if not (subject or "").strip():
        errors["subject"] = gettext("A case needs a subject.")
    if not (body or "").strip():
        errors["body"] = gettext("Describe the problem.")
    if errors:
        raise ValidationFailed(errors)
    case = cases.open_case(contact, subject=subject, body=body, contact=contact, channel=Channel.PORTAL,
                           uploads=uploads)
    if asset is not None and product is None:
        product = asset.product
    for field, value in (("product", product), ("asset", asset)):
        if value is not None:
            setattr(case, f"{field}_id", value.id)
            db.session.add(Activity(case_id=case.id, actor_contact_id=contact.id, action="changed", field=field,
                                    new=str(value), case_version=case.version))
    db.session.flush()
    return case


def reply(contact: Contact, case: Case, *, body: str, uploads: Iterable[cases.Upload] = ()):
    if len(body or "") > BODY_MAX:
        raise ValidationFailed({"body": gettext("At most %(n)d characters.", n=BODY_MAX)})
    if not (body or "").strip() and not [u for u in uploads if u.filename]:
        raise ValidationFailed({"body": gettext("Write something or attach a file.")})
    return cases.add_customer_message(contact, case, body=body, channel=Channel.PORTAL, uploads=uploads)


def close_case(contact: Contact, case: Case) -> Case:
    if not case.is_open and case.status == Status.CLOSED:
        return case
    return cases.change_status(contact, case, Status.CLOSED, reason="closed by the customer in the portal")


def reopen_case(contact: Contact, case: Case) -> Case:
    if case.is_open:
        return case
    if case.merged_into_id is not None:
        raise ValidationFailed({"case": gettext("This case was merged into another one.")})
    return cases.change_status(contact, case, Status.OPEN, reason="reopened by the customer in the portal")


# --- help center contact form --------------------------------------------------------------


def submit_contact_request(*, name: str, email: str, subject: str, body: str, language: str | None,
                           ip: str | None = None) -> ContactRequest:
    """Keep the question and email a link; the case is opened only once the address is confirmed."""
    email = normalize_email(email)
    errors: dict[str, str] = {}
    if not (name or "").strip():
        errors["name"] = gettext("Enter your name.")
    _check_email(email, errors)
    if "email" in errors:
        errors["email"] = gettext("Enter an email address like name@example.com.")
    if not (subject or "").strip():
        errors["subject"] = gettext("A case needs a subject.")
    elif len(subject.strip()) > cases.SUBJECT_MAX:
        errors["subject"] = gettext("At most %(n)d characters.", n=cases.SUBJECT_MAX)
    if not (body or "").strip():
        errors["body"] = gettext("Describe the problem.")
    elif len(body) > BODY_MAX:
        errors["body"] = gettext("At most %(n)d characters.", n=BODY_MAX)
    if errors:
        raise ValidationFailed(errors)
    spend_email_allowance(email, ip)
    request = ContactRequest(name=name.strip()[:200], email=email, subject=subject.strip(), body=body,
                             language=language)
    db.session.add(request)
    db.session.flush()
    token = make_token("contact", {"r": request.id})
    queue_email(to=[email], subject=gettext("Confirm your request: %(subject)s", subject=request.subject),
                body_text="\n\n".join([
                    gettext("Hello %(name)s,", name=request.name),
                    gettext("Please confirm your email address so that we can open your case "
                            "(the link works for 2 days):"),
                    site_link(f"/help/contact/confirm/{token}"),
                    gettext("If you did not write to us, ignore this email."),
                ]), auto_submitted="auto-generated")
    return request


def confirm_contact_request(token: str) -> Case:
    payload = read_token("contact", token)
    request = db.session.get(ContactRequest, payload.get("r")) if isinstance(payload.get("r"), int) else None
    if request is None:
        raise NotFound("This link is not valid any more.")
    if request.case_id is not None:
        case = db.session.get(Case, request.case_id)
        if case is not None:
            return case  # followed twice: the same case
    contact = find_or_create_contact(None, email=request.email, name=request.name)
    if contact.email_verified_at is None:
        contact.email_verified_at = utcnow()
    if request.language and not contact.language:
        contact.language = request.language
    case = cases.open_case(contact, subject=request.subject, body=request.body, contact=contact,
                           channel=Channel.PORTAL)
    request.case_id, request.confirmed_at = case.id, utcnow()
    db.session.flush()
    return case

