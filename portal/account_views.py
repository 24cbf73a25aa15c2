"""Portal access: invitation, sign-in and out, password reset, self sign-up, profile."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import COOKIE as LANGUAGE_COOKIE
from helpdesk.i18n import COOKIE_MAX_AGE, current_language
from helpdesk.portal_access import services
from helpdesk.portal_access.services import TooManyAttempts
from portal.auth import login_required, sign_in, sign_out
from portal.views import bp


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/portal") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("portal.index")


def _signup_open() -> bool:
    return current_app.config.get("PORTAL_SIGNUP", "off") in ("domains", "open")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if g.contact is not None:
        return redirect(_safe_next(request.args.get("next")))
    errors, email = {}, request.form.get("email", "")
    if request.method == "POST":
        config = current_app.config
        try:
            contact = services.authenticate_contact(email, request.form.get("password", ""),
                                                    request.remote_addr or "-", config["LOGIN_MAX_FAILURES"],
                                                    config["LOGIN_LOCK_MINUTES"])
        except TooManyAttempts as exc:
            db.session.rollback()
            return render_template("portal/login.html", errors={"email": exc.message}, email=email,
                                   signup=_signup_open()), 429
        db.session.commit()
        if contact is not None:
            return sign_in(redirect(_safe_next(request.args.get("next"))), contact)
        errors["password"] = _("Wrong email or password.")
        return render_template("portal/login.html", errors=errors, email=email, signup=_signup_open()), 401
    return render_template("portal/login.html", errors=errors, email=email, signup=_signup_open())


@bp.post("/logout")
def logout():
    flash(_("You are signed out."), "info")
    return sign_out(redirect(url_for("portal.login")))


def _password_page(purpose: str, token: str, template: str):
    contact = services.contact_for_token(purpose, token)  # 404 for a bad or used link
    if request.method == "POST":
        try:
            contact = services.set_password_from_link(purpose, token, request.form.get("password", ""),
                                                      request.form.get("confirm", ""))
        except ValidationFailed as exc:
            db.session.rollback()
            return render_template(template, contact=contact, errors=exc.errors), 422
        db.session.commit()
        flash(_("Your password is set. Welcome!"), "success")
        return sign_in(redirect(url_for("portal.index")), contact)
    return render_template(template, contact=contact, errors={})


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    return _password_page("invite", token, "portal/set_password.html")


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    return _password_page("reset", token, "portal/set_password.html")


@bp.route("/reset", methods=["GET", "POST"])
def request_reset():
    if request.method == "POST":
        services.request_password_reset(request.form.get("email", ""))
        db.session.commit()
        return render_template("portal/notice.html", title=_("Check your email"),
                               message=_("If the address has portal access, a link to choose a new password "
                                         "is on its way. It works for 2 hours."))
    return render_template("portal/reset.html", errors={})


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    if not _signup_open():
        return render_template("portal/notice.html", title=_("Sign-up is closed"),
                               message=_("Ask our support team for an invitation.")), 404
    form = request.form
    if request.method == "POST":
        try:
            services.start_signup(name=form.get("name", ""), email=form.get("email", ""),
                                  password=form.get("password", ""), language=current_language(),
                                  ip=request.remote_addr)
        except ValidationFailed as exc:
            db.session.rollback()
            return render_template("portal/signup.html", errors=exc.errors, form=form), 422
        except TooManyAttempts as exc:
            db.session.rollback()
            return render_template("portal/signup.html", errors={"email": exc.message}, form=form), 429
        db.session.commit()
        return render_template("portal/notice.html", title=_("Check your email"),
                               message=_("We sent you a link to confirm your address. It works for 2 days."))
    return render_template("portal/signup.html", errors={}, form={})


@bp.get("/signup/confirm/<token>")
def confirm_signup(token: str):
    contact = services.complete_signup(token)
    db.session.commit()
    flash(_("Your address is confirmed. Welcome!"), "success")
    return sign_in(redirect(url_for("portal.index")), contact)


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    contact = g.contact
    if request.method == "POST":
        form = request.form
        try:
            services.update_profile(contact, name=form.get("name", ""), phone=form.get("phone", ""),
                                    language=form.get("language", ""),
                                    notify_case_updates=bool(form.get("notify_case_updates")))
        except ValidationFailed as exc:
            db.session.rollback()
            return render_template("portal/profile.html", errors=exc.errors, form=form), 422
        db.session.commit()
        flash(_("Your profile is saved."), "success")
        response = redirect(url_for("portal.profile"))
        if contact.language:  # the saved language wins over an earlier pick in this browser
            response.set_cookie(LANGUAGE_COOKIE, contact.language, max_age=COOKIE_MAX_AGE, samesite="Lax",
                                httponly=True, secure=current_app.config.get("SESSION_COOKIE_SECURE", False))
        return response
    return render_template("portal/profile.html", errors={}, form=None)


@bp.post("/profile/password")
@login_required
def change_password():
    form = request.form
    try:
        contact = services.change_password(g.contact, current=form.get("current", ""), new=form.get("new", ""),
                                           confirm=form.get("confirm", ""))
    except ValidationFailed as exc:
        db.session.rollback()
        return render_template("portal/profile.html", errors=exc.errors, form=None), 422
    db.session.commit()
    flash(_("Your password is changed; other devices are signed out."), "success")
    return sign_in(redirect(url_for("portal.profile")), contact)
