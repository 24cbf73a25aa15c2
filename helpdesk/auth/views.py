"""Sign in, sign out, and a staff member's own preferences."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required, login_user, logout_user

from helpdesk.auth import services
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import LANGUAGES
from helpdesk.people import services as people_services

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("cases.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    errors, email = {}, ""
    if request.method == "POST":
        email = request.form.get("email", "")
        config = current_app.config
        try:
            user = services.authenticate(email, request.form.get("password", ""), request.remote_addr or "-",
                                         config["LOGIN_MAX_FAILURES"], config["LOGIN_LOCK_MINUTES"])
        except services.TooManyAttempts as exc:
            return render_template("auth/login.html", errors={"email": exc.message}, email=email), 429
        db.session.commit()
        if user is not None:
            login_user(user, remember=bool(request.form.get("remember")))
            return redirect(_safe_next(request.args.get("next")))
        errors["password"] = gettext("Wrong email or password.")
        return render_template("auth/login.html", errors=errors, email=email), 401
    return render_template("auth/login.html", errors=errors, email=email)


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash(gettext("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/preferences", methods=["GET", "POST"])
@login_required
def preferences():
    errors = {}
    if request.method == "POST":
        try:
            people_services.set_user_language(current_user, current_user, request.form.get("language", ""))
            db.session.commit()
            flash(gettext("Preferences saved."), "success")
            return redirect(url_for("auth.preferences"))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
    return render_template("auth/preferences.html", errors=errors, languages=list(LANGUAGES.items()),
                           language=current_user.language or "en"), 422 if errors else 200
