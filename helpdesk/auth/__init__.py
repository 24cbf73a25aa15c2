"""Staff sign-in: Flask-Login wiring, throttling, and the permission policy."""
from __future__ import annotations

from flask import Flask, jsonify, redirect, request, url_for
from flask_login import current_user

from helpdesk.extensions import db, login_manager


def init_app(app: Flask) -> None:
    from helpdesk.auth.policies import can
    from helpdesk.people.models import User

    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(token: str):
        user_id, _, session_token = token.partition(":")
        if not user_id.isdigit():
            return None
        user = db.session.get(User, int(user_id))
        if user is None or not user.active or user.session_token != session_token:
            return None
        return user

    @login_manager.unauthorized_handler
    def unauthorized():
        target = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
        if request.headers.get("HX-Request") == "true":
            response = jsonify(error="Please sign in again.")
            response.status_code = 401
            response.headers["HX-Redirect"] = target
            return response
        return redirect(target)

    app.jinja_env.globals["can"] = can
    app.jinja_env.globals["current_user"] = current_user
