"""The customer cabinet: cases, the new-case form with suggestions, assets, contracts, ratings."""
from __future__ import annotations

import secrets

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from helpdesk.cases.attachments import blob_path
from helpdesk.cases.models import Case
from helpdesk.cases.services import Upload
from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import current_language
from helpdesk.portal_access.policies import is_org_manager
from helpdesk.portal_access.tokens import read_token
from helpdesk.satisfaction import services as satisfaction
from helpdesk.satisfaction.models import FunnelStep
from helpdesk.satisfaction.queries import rating_of_case
from helpdesk.web import render
from portal import kb, queries, services
from portal.errors import handle_errors
from portal.auth import load_contact, login_required

bp = Blueprint("portal", __name__, url_prefix="/portal")
bp.before_request(load_contact)
handle_errors(bp)


def _uploads() -> list[Upload]:
    return [Upload(f.filename, f.stream) for f in request.files.getlist("attachments") if f and f.filename]


# --- my cases ------------------------------------------------------------------------------


@bp.get("/")
@login_required
def index():
    contact = g.contact
    scope = request.args.get("scope", "mine") if is_org_manager(contact) else "mine"
    state = request.args.get("state", "open")
    state = state if state in queries.STATES else "open"
    page = queries.cases_for_contact(contact, scope=scope, state=state, q=request.args.get("q", ""),
                                     after=request.args.get("after"))
    return render("portal/index.html", "portal/_case_list.html", page=page, scope=scope, state=state,
                  q=request.args.get("q", ""), manager=is_org_manager(contact))


@bp.get("/cases/<int:case_id>")
@login_required
def show_case(case_id: int):
    case = queries.case_for_contact(g.contact, case_id)
    return render("portal/case.html", case=case, messages=queries.public_messages(case),
                  rating=rating_of_case(case.id), rateable=queries.rateable(case), errors={})


@bp.get("/cases/<int:case_id>/conversation")
@login_required
def conversation(case_id: int):
    """The conversation alone, polled by the case page so an agent's reply shows up by itself."""
    case = queries.case_for_contact(g.contact, case_id)
    return render_template("portal/_conversation.html", case=case, messages=queries.public_messages(case))


@bp.post("/cases/<int:case_id>/reply")
@login_required
def reply(case_id: int):
    case = queries.case_for_contact(g.contact, case_id)
    try:
        services.reply(g.contact, case, body=request.form.get("body", ""), uploads=_uploads())
    except ValidationFailed as exc:
        db.session.rollback()
        case = queries.case_for_contact(g.contact, case_id)
        return render("portal/case.html", status=422, case=case, messages=queries.public_messages(case),
                      rating=rating_of_case(case.id), rateable=queries.rateable(case), errors=exc.errors,
                      body=request.form.get("body", ""))
    db.session.commit()
    flash(_("Your message was sent."), "success")
    return redirect(url_for("portal.show_case", case_id=case.id, _anchor="conversation-end"))


@bp.post("/cases/<int:case_id>/close")
@login_required
def close_case(case_id: int):
    case = queries.case_for_contact(g.contact, case_id)
    services.close_case(g.contact, case)
    db.session.commit()
    flash(_("The case is closed. Thank you!"), "success")
    return redirect(url_for("portal.show_case", case_id=case.id))


@bp.post("/cases/<int:case_id>/reopen")
@login_required
def reopen_case(case_id: int):
    case = queries.case_for_contact(g.contact, case_id)
    services.reopen_case(g.contact, case)
    db.session.commit()
    flash(_("The case is open again. Tell us what is still wrong."), "info")
    return redirect(url_for("portal.show_case", case_id=case.id, _anchor="reply"))


@bp.get("/attachments/<int:attachment_id>/<path:filename>")
@login_required
def attachment(attachment_id: int, filename: str):
    item = queries.attachment_for_contact(g.contact, attachment_id)
    if item.filename != filename:
        raise NotFound("No such file.")
    path = blob_path(current_app.config["ATTACHMENT_DIR"], item.blob_sha256)
    inline = item.blob.content_type.startswith("image/") and item.blob.content_type != "image/svg+xml"
    response = send_file(path, mimetype=item.blob.content_type, as_attachment=not inline, download_name=item.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox"
    return response


# --- a new case, with suggestions from the knowledge base ----------------------------------


def _new_case_context(**extra):
    contact = g.contact
    return dict(products=queries.products_for_contact(contact), assets=queries.assets_for_contact(contact),
                errors={}, form={}, attempt=request.values.get("attempt") or secrets.token_urlsafe(12), **extra)


@bp.get("/cases/new")
@login_required
def new_case():
    return render("portal/new_case.html", **_new_case_context())


@bp.post("/cases/new")
@login_required
def create_case():
    form = request.form
    try:
        case = services.open_portal_case(g.contact, subject=form.get("subject", ""), body=form.get("body", ""),
                                         product_id=form.get("product_id"), asset_id=form.get("asset_id"),
                                         uploads=_uploads())
    except ValidationFailed as exc:
        db.session.rollback()
        return render("portal/new_case.html", status=422, **{**_new_case_context(), "errors": exc.errors,
                                                             "form": form})
    satisfaction.record_funnel_step(form.get("attempt", ""), FunnelStep.CASE_CREATED, contact=g.contact, case=case,
                                    query=form.get("subject", ""))
    db.session.commit()
    flash(_("Thank you. We received your case %(number)s.", number=case.number), "success")
    return redirect(url_for("portal.show_case", case_id=case.id))


@bp.get("/suggestions")
def suggestions():
    """Articles for what the customer is typing (htmx, while they type)."""
    text = " ".join(request.args.get(k, "") for k in ("subject", "body"))[:500]
    hits = kb.suggest(text, g.contact, current_language(), limit=5).hits if text.strip() else []
    if hits:
        satisfaction.record_funnel_step(request.args.get("attempt", ""), FunnelStep.SUGGESTIONS_SHOWN,
                                        contact=g.contact, query=request.args.get("subject", ""))
        db.session.commit()
    return render_template("portal/_suggestions.html", hits=hits, attempt=request.args.get("attempt", ""))


@bp.post("/funnel")
def funnel():
    """The new-case form left without sending it (navigator.sendBeacon from portal.js)."""
    if request.form.get("step") == FunnelStep.FORM_ABANDONED.value:
        satisfaction.record_funnel_step(request.form.get("attempt", ""), FunnelStep.FORM_ABANDONED,
                                        contact=g.contact, query=request.form.get("subject", ""))
        db.session.commit()
    return "", 204


# --- satisfaction --------------------------------------------------------------------------


@bp.route("/cases/<int:case_id>/rate", methods=["GET", "POST"])
@login_required
def rate_case(case_id: int):
    case = queries.case_for_contact(g.contact, case_id)
    if not queries.rateable(case) or case.contact_id != g.contact.id:
        raise NotFound("Nothing to rate.")
    return _rate(case, g.contact, url_for("portal.rate_case", case_id=case.id))


@bp.route("/rate/<token>", methods=["GET", "POST"])
def rate_by_link(token: str):
    """The one-click link from the email: no sign-in needed, the signed token names case and contact.

    The click opens the form with that score chosen; one press on Send saves it. Saving on the
    GET itself would let mail scanners that open every link rate the case for the customer."""
    payload = read_token("rating", token)
    case = db.session.get(Case, payload["c"]) if isinstance(payload.get("c"), int) else None
    if case is None or case.contact_id is None or case.contact_id != payload.get("k") or case.deleted_at is not None \
            or not queries.rateable(case):
        raise NotFound("This link is not valid any more.")
    return _rate(case, case.contact, url_for("portal.rate_by_link", token=token))


def _rate(case, rater, action: str):
    rating = rating_of_case(case.id)
    if request.method == "POST":
        try:
            satisfaction.record_rating(rater, case, request.form.get("score"), request.form.get("comment", ""))
        except ValidationFailed as exc:
            db.session.rollback()
            return render("portal/rate.html", status=422, case=case, action=action, errors=exc.errors,
                          score=request.form.get("score"), comment=request.form.get("comment", ""))
        db.session.commit()
        return render("portal/rated.html", case=case)
    score = request.args.get("score") or (rating.score if rating else None)
    return render("portal/rate.html", case=case, action=action, errors={}, score=str(score or ""),
                  comment=rating.comment if rating else "")


# --- assets and contracts ------------------------------------------------------------------


@bp.get("/assets")
@login_required
def assets():
    return render("portal/assets.html", assets=queries.assets_for_contact(g.contact))


@bp.get("/assets/<int:asset_id>")
@login_required
def show_asset(asset_id: int):
    return render("portal/asset.html", asset=queries.asset_for_contact(g.contact, asset_id))


@bp.get("/contracts")
@login_required
def contracts():
    return render("portal/contracts.html", contracts=queries.contracts_for_contact(g.contact))


@bp.get("/contracts/<int:contract_id>")
@login_required
def show_contract(contract_id: int):
    return render("portal/contract.html", contract=queries.contract_for_contact(g.contact, contract_id))
