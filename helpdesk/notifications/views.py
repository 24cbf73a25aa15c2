"""The notification center, the unread badge, digest settings and the follow button."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext, ngettext
from flask_login import current_user, login_required

from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.notifications import queries, services
from helpdesk.notifications.models import Digest, Notification
from helpdesk.web import is_partial_request, render

bp = Blueprint("notifications", __name__)


@bp.before_request
@login_required
def _require_login():
    pass


def _back(default: str) -> str:
    target = request.form.get("next") or request.args.get("next")
    return target if target and target.startswith("/") and not target.startswith("//") else default


def _center(status: int = 200):
    unread_only = request.args.get("show") == "unread"
    before = request.args.get("before", type=int)
    page = queries.notification_page(current_user, before=before, unread_only=unread_only)
    return render("notifications/index.html", "notifications/_list.html", status=status, page=page,
                  unread_only=unread_only, unread=queries.unread_count(current_user))


@bp.get("/notifications")
def index():
    return _center()


@bp.get("/notifications/badge")
def badge():
    return render("notifications/_badge.html", unread=queries.unread_count(current_user))


@bp.get("/notifications/<int:notification_id>")
def open_notification(notification_id: int):
    """Follow a notification's link, marking it read on the way (like a mail client)."""
    notification = _own(notification_id)
    services.mark_read(current_user, notification)
    db.session.commit()
    url = notification.url
    return redirect(url if url.startswith("/") and not url.startswith("//") else url_for("notifications.index"))


@bp.post("/notifications/<int:notification_id>/read")
def mark_read(notification_id: int):
    services.mark_read(current_user, _own(notification_id))
    db.session.commit()
    return _after_change()


@bp.post("/notifications/read-all")
def mark_all_read():
    count = services.mark_all_read(current_user)
    db.session.commit()
    if not is_partial_request():
        flash(ngettext("Marked %(num)d notification read.", "Marked %(num)d notifications read.", count), "success")
    return _after_change()


def _after_change():
    if is_partial_request():
        response = _center()
        response.headers["HX-Trigger"] = "notifications-changed"
        return response
    return redirect(_back(url_for("notifications.index")))


def _own(notification_id: int) -> Notification:
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != current_user.id:
        raise NotFound(gettext("No such notification."))
    return notification


@bp.route("/notifications/settings", methods=["GET", "POST"])
def settings():
    errors = {}
    if request.method == "POST":
        try:
            services.set_digest(current_user, request.form.get("digest", ""))
            db.session.commit()
            flash(gettext("Notification settings saved."), "success")
            return redirect(url_for("notifications.settings"))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
    return render("notifications/settings.html", status=422 if errors else 200, errors=errors,
                  setting=queries.setting_for(current_user), digests=[(d, d.label) for d in Digest])


@bp.post("/follow/<target_type>/<int:target_id>")
def follow(target_type: str, target_id: int):
    """Follow or (follow=0) unfollow any followable record; htmx gets the button back."""
    queries.get_target_or_404(target_type, target_id)
    if request.form.get("follow") == "0":
        services.unfollow(current_user, target_type, target_id)
    else:
        services.follow(current_user, target_type, target_id)
    db.session.commit()
    if is_partial_request():
        return render("notifications/_follow.html", target_type=target_type, target_id=target_id)
    return redirect(_back(request.referrer or url_for("notifications.index")))


def init_app(app) -> None:
    """Template helpers: the badge count and whether the current user follows a record."""

    def is_following(target_type: str, target_id: int) -> bool:
        return current_user.is_authenticated and services.is_following(current_user, target_type, target_id)

    def unread_notifications() -> int:
        return queries.unread_count(current_user) if current_user.is_authenticated else 0

    app.jinja_env.globals.update(is_following=is_following, unread_notifications=unread_notifications,
                                 followers_of=services.followers)
