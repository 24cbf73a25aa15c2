"""Import pages (upload, column mapping with preview, progress, report) and the CSV/vCard exports."""
from __future__ import annotations

import re
from datetime import datetime

from flask import Blueprint, Response, redirect, request, stream_with_context, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from helpdesk.auth.policies import require
from helpdesk.cases.queries import CaseFilter
from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.imports import policies, queries, services, vcard
from helpdesk.imports.models import ImportStatus
from helpdesk.web import render

bp = Blueprint("imports", __name__)


@bp.before_request
@login_required
def _require_login():
    pass


# --- import ----------------------------------------------------------------------------------


@bp.route("/imports", methods=["GET", "POST"])
def index():
    require(current_user, "data.import")
    errors, form = {}, request.form
    if request.method == "POST":
        upload = request.files.get("file")
        try:
            run = services.start_import(current_user, kind=form.get("kind", ""),
                                        filename=upload.filename if upload else "", stream=upload.stream if upload else None)
            db.session.commit()
            return redirect(url_for("imports.show", run_id=run.id))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
    return render("imports/index.html", status=422 if errors else 200, errors=errors, form=form,
                  kinds=policies.KIND_LABELS, runs=queries.recent_runs())


def _run(run_id: int):
    require(current_user, "data.import")
    return services.get_run(run_id)


@bp.get("/imports/<int:run_id>")
def show(run_id: int):
    run = _run(run_id)
    if run.status != ImportStatus.MAPPING:
        return render("imports/run.html", run=run)
    return _mapping_page(run)


def _mapping_page(run, errors=None, status=200):
    rows, file_error = services.preview(run)
    missing = policies.missing_required(run.kind, run.mapping)
    return render("imports/mapping.html", status=status, run=run, fields=policies.FIELDS[run.kind], rows=rows,
                  file_error=file_error, missing=missing, errors=errors or {}, encodings=policies.ENCODINGS,
                  columns=[(str(i), f"{name} (column {i + 1})") for i, name in enumerate(run.header)],
                  delimiters=policies.DELIMITERS, kinds=policies.KIND_LABELS)


@bp.post("/imports/<int:run_id>/mapping")
def mapping(run_id: int):
    run = _run(run_id)
    form = request.form
    try:
        services.set_mapping(current_user, run, mapping={k[4:]: v for k, v in form.items() if k.startswith("map_")},
                             encoding=form.get("encoding"), delimiter=form.get("delimiter"),
                             all_or_nothing=form.get("all_or_nothing") == "1")
        if form.get("action") == "run":
            services.queue_import(current_user, run)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        return _mapping_page(services.get_run(run_id), exc.errors, 422)
    return redirect(url_for("imports.show", run_id=run.id) + ("" if run.status != ImportStatus.MAPPING else "#preview"))


@bp.get("/imports/<int:run_id>/progress")
def progress(run_id: int):
    run = _run(run_id)
    return render("imports/run.html", "imports/_progress.html", run=run)


@bp.get("/imports/<int:run_id>/errors.csv")
def errors_csv(run_id: int):
    run = _run(run_id)

    def lines():
        yield policies.csv_line(["Line", "Reason"])
        for e in run.errors or []:
            yield policies.csv_line([e["line"], e["reason"]])

    return _csv_response(lines(), f"import-{run.id}-problems")


# --- export ----------------------------------------------------------------------------------


def _csv_response(lines, name: str, mimetype: str = "text/csv; charset=utf-8", ext: str = "csv") -> Response:
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    filename = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{name}-{stamp}.{ext}")
    response = Response(stream_with_context(lines), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _export(columns: list[str], rows, name: str) -> Response:
    def lines():
        # A byte order mark: spreadsheet programs then read the UTF-8 as UTF-8.
        yield "\ufeff" + policies.csv_line(columns)
        for row in rows:
            yield policies.csv_line(row)

    return _csv_response(lines(), name)


@bp.get("/exports/cases.csv")
def export_cases():
    require(current_user, "data.export")
    require(current_user, "case.view")
    f = CaseFilter.from_args(request.args)
    return _export(queries.CASE_COLUMNS, queries.case_rows(current_user, f), "cases")


def _organization_arg() -> int | None:
    raw = request.args.get("organization_id", "")
    return int(raw) if raw.isdigit() else None


@bp.get("/exports/contacts.csv")
def export_contacts():
    require(current_user, "data.export")
    require(current_user, "contact.view")
    rows = queries.contact_rows(request.args.get("q", ""), request.args.get("role", ""), _organization_arg())
    return _export(queries.CONTACT_COLUMNS, rows, "contacts")


@bp.get("/exports/contacts.vcf")
def export_vcards():
    require(current_user, "data.export")
    require(current_user, "contact.view")
    version = request.args.get("version", "4.0")
    if version not in vcard.VERSIONS:
        raise NotFound(gettext("vCard versions 3.0 and 4.0 are available."))
    contacts = queries.contacts(request.args.get("q", ""), request.args.get("role", ""), _organization_arg())
    return _csv_response(vcard.to_vcards(contacts, version), "contacts", "text/vcard; charset=utf-8", "vcf")


@bp.get("/exports/organizations.csv")
def export_organizations():
    require(current_user, "data.export")
    require(current_user, "contact.view")
    return _export(queries.ORGANIZATION_COLUMNS, queries.organization_rows(request.args.get("q", "")), "organizations")


@bp.get("/exports/products.csv")
def export_products():
    require(current_user, "data.export")
    require(current_user, "product.view")
    return _export(queries.PRODUCT_COLUMNS, queries.product_rows(request.args.get("q", "")), "products")


@bp.get("/exports/assets.csv")
def export_assets():
    require(current_user, "data.export")
    require(current_user, "asset.view")
    return _export(queries.ASSET_COLUMNS, queries.asset_rows(request.args), "assets")


@bp.get("/exports/contracts.csv")
def export_contracts():
    require(current_user, "data.export")
    require(current_user, "contract.view")
    return _export(queries.CONTRACT_COLUMNS, queries.contract_rows(request.args), "contracts")
