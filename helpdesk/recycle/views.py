"""The recycle bin page, and the one delete action every record page's Delete button posts to."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required
from werkzeug.routing import BuildError

from helpdesk.auth.policies import can, require
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.recycle import policies, queries, services
from helpdesk.web import render

bp = Blueprint("recycle", __name__)


@bp.before_request
@login_required
def _require_login():
    require(current_user, "recycle.view")


def _kind_or_404(key: str) -> policies.Kind:
    return services._kind(key)


def _url(endpoint: str | None, **args) -> str | None:
    try:
        return url_for(endpoint, **args) if endpoint else None
    except BuildError:
        return None


def _safe_next() -> str | None:
    target = request.form.get("next") or ""
    return target if target.startswith("/") and not target.startswith("//") else None


@bp.get("/recycle-bin")
def index():
    kind = request.args.get("kind", "")
    before = request.args.get("before", type=int)
    page = queries.bin_page(kind, before)
    days = services.retention_days()
    return render("recycle/index.html", "recycle/_entries.html", page=page, kind=kind, kinds=policies.available_kinds(),
                  retention_days=days, expiry=lambda e: queries.expiry(e, days), all_kinds=policies.KINDS)


@bp.post("/recycle-bin/delete/<kind>/<int:object_id>")
def delete(kind: str, object_id: int):
    spec = _kind_or_404(kind)
    require(current_user, spec.edit_permission)
    entry = services.delete_record(current_user, kind, object_id)
    db.session.commit()
    what = f"{spec.label} {entry.label}"
    if entry.summary:
        message = gettext("%(what)s moved to the recycle bin with %(summary)s. You can restore it for %(days)s days.",
                          what=what, summary=entry.summary, days=services.retention_days())
    else:
        message = gettext("%(what)s moved to the recycle bin. You can restore it for %(days)s days.",
                          what=what, days=services.retention_days())
    flash(message, "success")
    return redirect(_safe_next() or _url(spec.list_endpoint) or url_for("recycle.index"))


@bp.post("/recycle-bin/<int:entry_id>/restore")
def restore(entry_id: int):
    entry = queries.get_entry(entry_id)
    spec = _kind_or_404(entry.kind)
    require(current_user, spec.edit_permission)
    kind, object_id, label = spec, entry.object_id, entry.label
    try:
        restored = services.restore_entry(current_user, entry)
    except ValidationFailed as exc:
        db.session.rollback()
        flash(exc.errors.get("entry") or exc.message, "danger")
        return redirect(url_for("recycle.index"))
    db.session.commit()
    also = [f"{policies.KINDS[e.kind].label.lower()} {e.label}" for e in restored[1:]]
    what = f"{kind.label} {label}"
    if also:
        flash(gettext("%(what)s restored, and with it %(others)s.", what=what, others=", ".join(also)), "success")
    else:
        flash(gettext("%(what)s restored.", what=what), "success")
    return redirect(_url(kind.show_endpoint, **{kind.show_arg: object_id}) or url_for("recycle.index"))


@bp.post("/recycle-bin/<int:entry_id>/purge")
def purge(entry_id: int):
    require(current_user, "recycle.purge")
    entry = queries.get_entry(entry_id)
    label = f"{policies.KINDS[entry.kind].label} {entry.label}" if entry.kind in policies.KINDS else entry.label
    orphans = services.purge_entry(current_user, entry)
    db.session.commit()
    services.remove_blob_files(orphans)
    current_app.logger.info("%s purged recycle bin entry %s (%s)", current_user.email, entry_id, label)
    flash(gettext('%(label)s deleted for good.', label=label), "success")
    return redirect(url_for("recycle.index", kind=request.form.get("kind") or None))


@bp.app_context_processor
def _delete_helpers():
    return {"can_delete": lambda kind: kind in policies.KINDS and can(current_user, policies.KINDS[kind].edit_permission)}
