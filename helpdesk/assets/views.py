"""Staff pages for products and assets, and the product/asset/contract links of a case."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from helpdesk.assets import queries, services
from helpdesk.assets.models import AssetStatus
from helpdesk.assets.policies import warranty_state
from helpdesk.auth.policies import require
from helpdesk.cases import queries as case_queries
from helpdesk.contracts import queries as contract_queries
from helpdesk.contracts import services as contract_services
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.types import utcnow
from helpdesk.web import is_partial_request, render

bp = Blueprint("assets", __name__)

ASSET_FIELDS = ("serial_number", "product_id", "contact_id", "organization_id", "status", "date_sold", "warranty_end", "notes")


@bp.before_request
@login_required
def _require_login():
    require(current_user, "asset.view")


# --- products ------------------------------------------------------------------------------------


@bp.get("/products")
def products():
    require(current_user, "product.view")
    q = request.args.get("q", "").strip()
    return render("assets/products.html", products=queries.products(q), q=q)


@bp.route("/products/new", methods=["GET", "POST"])
def new_product():
    return _product_form(None)


@bp.route("/products/<int:product_id>/edit", methods=["GET", "POST"])
def edit_product(product_id: int):
    return _product_form(queries.get_product(product_id))


def _product_form(product):
    require(current_user, "product.edit")
    errors, form = {}, request.form
    if request.method == "POST":
        try:
            product = services.save_product(current_user, product, name=form.get("name", ""), code=form.get("code", ""),
                                            category=form.get("category", ""))
            db.session.commit()
            flash(gettext('Product %(name)s saved.', name=product.name), "success")
            return redirect(url_for("assets.product", product_id=product.id))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
    return render("assets/product_form.html", status=422 if errors else 200, product=product, form=form, errors=errors)


@bp.get("/products/<int:product_id>")
def product(product_id: int):
    product = queries.get_product(product_id)
    return render("assets/product.html", product=product, assets=queries.product_assets(product),
                  cases=queries.product_cases(product), following=_following("product", product.id))


# --- assets --------------------------------------------------------------------------------------


@bp.get("/assets")
def assets():
    f = queries.AssetFilter.from_args(request.args)
    rows, after = queries.assets(f)
    context = dict(f=f, assets=rows, next_url=url_for("assets.assets", **f.to_args(after=after)) if after else None,
                   products=queries.products(), statuses=list(AssetStatus), today=utcnow().date(),
                   contacts=queries.contact_options(), organizations=queries.organization_options())
    return render("assets/assets.html", "assets/_assets_table.html", **context)


@bp.route("/assets/new", methods=["GET", "POST"])
def new_asset():
    return _asset_form(None)


@bp.route("/assets/<int:asset_id>/edit", methods=["GET", "POST"])
def edit_asset(asset_id: int):
    return _asset_form(queries.get_asset(asset_id))


def _asset_form(asset):
    require(current_user, "asset.edit")
    errors = {}
    form = request.form if request.method == "POST" else _asset_defaults(asset)
    if request.method == "POST":
        try:
            asset = services.save_asset(current_user, asset, {k: form.get(k, "") for k in ASSET_FIELDS})
            db.session.commit()
            flash(gettext('Asset %(serial_number)s saved.', serial_number=asset.serial_number), "success")
            return redirect(url_for("assets.asset", asset_id=asset.id))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
    return render("assets/asset_form.html", status=422 if errors else 200, asset=asset, form=form, errors=errors,
                  products=queries.products(), statuses=list(AssetStatus),
                  contacts=queries.contact_options(), organizations=queries.organization_options())


def _asset_defaults(asset) -> dict:
    if asset is None:
        return {k: request.args.get(k, "") for k in ("product_id", "contact_id", "organization_id")}
    return {"serial_number": asset.serial_number, "product_id": str(asset.product_id),
            "contact_id": str(asset.contact_id or ""), "organization_id": str(asset.organization_id or ""),
            "status": asset.status.value, "date_sold": asset.date_sold.isoformat() if asset.date_sold else "",
            "warranty_end": asset.warranty_end.isoformat() if asset.warranty_end else "", "notes": asset.notes}


@bp.get("/assets/<int:asset_id>")
def asset(asset_id: int):
    asset = queries.get_asset(asset_id)
    return render("assets/asset.html", asset=asset, cases=queries.asset_cases(asset),
                  warranty=warranty_state(asset.warranty_end, utcnow().date()), following=_following("asset", asset.id))


# --- following -----------------------------------------------------------------------------------


@bp.post("/assets/<int:asset_id>/follow")
def follow_asset(asset_id: int):
    asset = queries.get_asset(asset_id)
    return _toggle_follow("asset", asset.id, url_for("assets.asset", asset_id=asset.id))


@bp.post("/products/<int:product_id>/follow")
def follow_product(product_id: int):
    product = queries.get_product(product_id)
    return _toggle_follow("product", product.id, url_for("assets.product", product_id=product.id))


def _following(target_type: str, target_id: int) -> bool | None:
    """Whether the user follows the record; None when that kind of record cannot be followed."""
    from helpdesk.notifications.queries import TARGETS
    from helpdesk.notifications.services import is_following

    return is_following(current_user, target_type, target_id) if target_type in TARGETS else None


def _toggle_follow(target_type: str, target_id: int, back: str):
    from helpdesk.notifications.services import follow, unfollow

    wanted = request.form.get("follow") != "0"
    (follow if wanted else unfollow)(current_user, target_type, target_id)
    db.session.commit()
    if is_partial_request():
        return render("assets/_follow.html", target_type=target_type, target_id=target_id, following=wanted,
                      action=request.path)
    flash(gettext("You follow it now.") if wanted else gettext("You no longer follow it."), "success")
    return redirect(back)


# --- a case's links ------------------------------------------------------------------------------


@bp.post("/cases/<int:case_id>/links")
def link_case(case_id: int):
    case = case_queries.get_case(case_id)
    require(current_user, "case.update")
    data = {k: request.form[k] for k in ("product_id", "asset_id", "service_contract_id") if k in request.form}
    version = request.form.get("version")
    contract_services.link_case(current_user, case, data, version=int(version) if version and version.isdigit() else None)
    db.session.commit()
    if not is_partial_request():
        flash(gettext("Case links saved."), "success")
    # htmx follows the redirect and picks #case-workspace out of the case page (hx-select), so the
    # whole workspace (with the case's new version in every form) is fresh.
    return redirect(url_for("cases.show", case_id=case.id))


def case_links(case) -> dict:
    """What the case page's links section needs (a template global)."""
    return dict(products=queries.products(), assets=queries.customer_assets(case.contact_id, case.organization_id),
                contracts=contract_queries.customer_contracts(case.contact_id, case.organization_id),
                entitlement=contract_queries.entitlement(case))


bp.add_app_template_global(case_links, "case_links")
bp.add_app_template_global(warranty_state, "warranty_state")
