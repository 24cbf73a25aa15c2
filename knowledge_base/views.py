"""Agent pages of the knowledge base: browse, write, review, history, FAQ, reports, and the one search box."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext
from flask_login import current_user, login_required
from sqlalchemy import select

from helpdesk.auth.policies import require
from helpdesk.cases import queries as case_queries
from helpdesk.cases.attachments import blob_path
from helpdesk.cases.models import Case
from helpdesk.cases.services import Upload
from helpdesk.errors import NotFound, PermissionDenied, ValidationFailed
from helpdesk.extensions import db
from helpdesk.people import queries as people_queries
from helpdesk.web import is_partial_request, render

from knowledge_base import policies, queries, services
from knowledge_base import search as search_index
from knowledge_base.models import LANGUAGES, RTL_LANGUAGES, ArticleAttachment, ArticleStatus, Category, SynonymSet, Visibility
from knowledge_base.policies import Viewer

bp = Blueprint("kb", __name__, url_prefix="/kb")
_PUBLIC_ENDPOINTS = {"kb.file"}


@bp.before_request
def _require_staff():
    if request.endpoint in _PUBLIC_ENDPOINTS:
        return None
    return _staff_only()


@login_required
def _staff_only():
    require(current_user, "case.view")


def _viewer() -> Viewer:
    return Viewer.staff(current_user)


def _version() -> int | None:
    raw = request.form.get("version")
    return int(raw) if raw and raw.isdigit() else None


def public_article_url(article) -> str:
    """Where a customer reads the article: the portal's page when the portal is loaded."""
    for endpoint in ("portal.article", "portal.kb_article", "portal.show_article"):
        if endpoint in current_app.view_functions:
            return url_for(endpoint, slug=article.slug, _external=True)
    return url_for("kb.show_article", article_id=article.id, _external=True)


@bp.app_context_processor
def _kb_helpers():
    return {"kb_public_url": public_article_url, "kb_languages": LANGUAGES, "kb_rtl": RTL_LANGUAGES,
            "kb_articles_of_case": queries.articles_of_case}


def _form_context(**extra) -> dict:
    categories = queries.categories_flat()
    return dict(languages=list(LANGUAGES.items()), visibilities=list(Visibility), categories=categories,
                visibility_options=[(v.value, v.label) for v in Visibility],
                category_options=[("", "— none —")] + [(str(c.id), "— " * depth + c.name) for c, depth in categories], **extra)


# --- browsing and writing ---------------------------------------------------------------------


@bp.get("/")
def index():
    f = queries.ArticleFilter.from_args(request.args)
    articles = queries.article_list(f)
    context = dict(f=f, articles=articles, counts=services.article_counts(), statuses=list(ArticleStatus), **_form_context())
    return render("knowledge_base/index.html", "knowledge_base/_article_table.html", **context)


@bp.get("/review")
def review():
    return redirect(url_for("kb.index", status=ArticleStatus.IN_REVIEW.value))


@bp.route("/articles/new", methods=["GET", "POST"])
def new_article():
    source = queries.get_article(int(request.values["translation_of"])) if request.values.get("translation_of", "").isdigit() else None
    errors, form = {}, request.form
    if request.method == "POST":
        try:
            article = services.create_article(
                current_user, title=form.get("title", ""), summary=form.get("summary", ""), body=form.get("body", ""),
                language=form.get("language") or None, category_id=form.get("category_id") or None,
                tags=form.get("tags", ""), visibility=form.get("visibility") or Visibility.CUSTOMERS.value, translation_of=source)
            db.session.commit()
            flash(gettext("Draft saved."), "success")
            return redirect(url_for("kb.show_article", article_id=article.id))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
    elif source is not None:
        form = {"title": source.title, "summary": source.summary, "body": source.body, "tags": ", ".join(source.tags or []),
                "category_id": str(source.category_id or ""), "visibility": source.visibility.value,
                "language": request.args.get("language", "")}
    return render("knowledge_base/form.html", status=422 if errors else 200, article=None, source=source, errors=errors,
                  form=form, **_form_context())


@bp.get("/articles/<int:article_id>")
def show_article(article_id: int):
    article = queries.get_article(article_id)
    return render("knowledge_base/article.html", article=article, next_statuses=policies.next_statuses(current_user, article.status),
                  feedback=queries.feedback(article, 20), cases=queries.cases_of_article(article, 20),
                  missing_languages=[l for l in LANGUAGES if l not in {a.language for a in article.translation_group.articles}])


@bp.route("/articles/<int:article_id>/edit", methods=["GET", "POST"])
def edit_article(article_id: int):
    article = queries.get_article(article_id)
    errors, form = {}, request.form
    if request.method == "POST":
        data = {k: form.get(k, "") for k in ("title", "summary", "body", "tags", "visibility", "category_id")}
        try:
            services.update_article(current_user, article, data, version=_version(), note=form.get("note", ""))
            related = [int(i) for i in form.get("related", "").replace(",", " ").split() if i.isdigit()]
            services.set_related(current_user, article, related)
            db.session.commit()
            flash(gettext("Saved."), "success")
            return redirect(url_for("kb.show_article", article_id=article.id))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
            article = queries.get_article(article_id)
    else:
        form = {"title": article.title, "summary": article.summary, "body": article.body, "tags": ", ".join(article.tags or []),
                "category_id": str(article.category_id or ""), "visibility": article.visibility.value,
                "related": " ".join(str(a.id) for a in article.related)}
    return render("knowledge_base/form.html", status=422 if errors else 200, article=article, source=None, errors=errors,
                  form=form, **_form_context())


@bp.post("/articles/<int:article_id>/status")
def change_status(article_id: int):
    article = queries.get_article(article_id)
    publish_at = services.parse_publish_at(request.form.get("publish_at"))
    try:
        status = ArticleStatus(request.form.get("status", ""))
    except ValueError:
        raise ValidationFailed({"status": gettext("Choose a status.")}) from None
    services.change_status(current_user, article, status, publish_at=publish_at)
    db.session.commit()
    if article.scheduled:
        flash(gettext("The article is now %(status)s (scheduled).", status=article.status.label), "success")
    else:
        flash(gettext("The article is now %(status)s.", status=article.status.label), "success")
    return redirect(url_for("kb.show_article", article_id=article.id))


@bp.get("/articles/<int:article_id>/history")
def history(article_id: int):
    article = queries.get_article(article_id)
    versions = queries.versions(article)
    diff, old, new = None, None, None
    a, b = request.args.get("a", ""), request.args.get("b", "")
    if a.isdigit() and b.isdigit():
        old, new = queries.get_version(article, int(a)), queries.get_version(article, int(b))
        diff = queries.diff_versions(old, new)
    elif len(versions) > 1:
        old, new = versions[1], versions[0]
        diff = queries.diff_versions(old, new)
    return render("knowledge_base/history.html", article=article, versions=versions, diff=diff, old=old, new=new,
                  events=queries.events(article))


@bp.post("/articles/<int:article_id>/restore/<int:number>")
def restore(article_id: int, number: int):
    article = queries.get_article(article_id)
    services.restore_version(current_user, article, number)
    db.session.commit()
    flash(gettext('Version %(number)s restored as version %(version_number)s.', number=number, version_number=article.version_number), "success")
    return redirect(url_for("kb.history", article_id=article.id))


@bp.post("/articles/<int:article_id>/files")
def upload(article_id: int):
    article = queries.get_article(article_id)
    files = [f for f in request.files.getlist("file") if f and f.filename]
    if not files:
        raise ValidationFailed({"file": gettext("Choose a file.")})
    for f in files:
        services.add_attachment(current_user, article, Upload(f.filename, f.stream))
    db.session.commit()
    flash(gettext("File attached. Link to it from the text with the address shown next to it."), "success")
    return redirect(url_for("kb.edit_article", article_id=article.id) + "#files")


@bp.post("/files/<int:attachment_id>/delete")
def delete_file(attachment_id: int):
    item = db.session.get(ArticleAttachment, attachment_id)
    if item is None:
        raise NotFound(gettext("No such file."))
    article_id = item.article_id
    services.remove_attachment(current_user, item)
    db.session.commit()
    return redirect(url_for("kb.edit_article", article_id=article_id) + "#files")


@bp.get("/files/<int:attachment_id>/<path:filename>")
def file(attachment_id: int, filename: str):
    """An article's file, for whoever may read the article (so images work in the portal too)."""
    item = db.session.get(ArticleAttachment, attachment_id)
    if item is None or item.filename != filename:
        raise NotFound(gettext("No such file."))
    viewer = Viewer.staff(current_user) if policies.can_write(current_user) else _portal_viewer()
    queries.article_for_viewer(item.article_id, viewer, item.article.language)
    path = blob_path(current_app.config["ATTACHMENT_DIR"], item.blob_sha256)
    inline = item.blob.content_type.startswith("image/") and item.blob.content_type != "image/svg+xml"
    response = send_file(path, mimetype=item.blob.content_type, as_attachment=not inline, download_name=item.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox"
    return response


def _portal_viewer() -> Viewer:
    # The portal may say who its signed-in customer is; otherwise the reader is the public.
    hook = current_app.extensions.get("kb_portal_viewer")
    return (hook() if hook else None) or Viewer.public()


# --- categories, FAQ, synonyms ---------------------------------------------------------------


@bp.route("/categories", methods=["GET", "POST"])
def categories():
    errors = {}
    if request.method == "POST":
        form = request.form
        names = {lang: form.get(f"name_{lang}", "").strip() for lang in LANGUAGES}
        try:
            category = db.session.get(Category, int(form["category_id"])) if form.get("category_id", "").isdigit() else None
            args = dict(name=form.get("name", ""), parent_id=form.get("parent_id") or None, names=names,
                        description=form.get("description", ""), position=int(form.get("position") or 0))
            if category is None:
                services.create_category(current_user, **args)
            else:
                services.update_category(current_user, category, **args)
            db.session.commit()
            flash(gettext("Category saved."), "success")
            return redirect(url_for("kb.categories"))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
    return render("knowledge_base/categories.html", status=422 if errors else 200, errors=errors,
                  tree=queries.categories_for_viewer(_viewer()), **_form_context())


@bp.get("/faq")
def faq_list():
    return render("knowledge_base/faq.html", faqs=queries.faqs_for_viewer(_viewer()), **_form_context())


@bp.route("/faq/new", methods=["GET", "POST"])
@bp.route("/faq/<int:faq_id>/edit", methods=["GET", "POST"])
def faq_form(faq_id: int | None = None):
    faq = queries.get_faq(faq_id) if faq_id else None
    errors, form = {}, request.form
    if request.method == "POST":
        try:
            if faq is None:
                services.create_faq(current_user, form)
            else:
                services.update_faq(current_user, faq, form)
            db.session.commit()
            flash(gettext("FAQ entry saved."), "success")
            return redirect(url_for("kb.faq_list"))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
    elif faq is not None:
        form = {"question": faq.question, "answer": faq.answer, "language": faq.language, "visibility": faq.visibility.value,
                "category_id": str(faq.category_id or ""), "position": faq.position, "published": "1" if faq.published else ""}
    else:
        form = {"published": "1"}
    return render("knowledge_base/faq_form.html", status=422 if errors else 200, faq=faq, errors=errors, form=form, **_form_context())


@bp.post("/faq/<int:faq_id>/delete")
def delete_faq(faq_id: int):
    services.delete_faq(current_user, queries.get_faq(faq_id))
    db.session.commit()
    flash(gettext("FAQ entry deleted."), "info")
    return redirect(url_for("kb.faq_list"))


@bp.route("/synonyms", methods=["GET", "POST"])
def synonyms():
    errors = {}
    if request.method == "POST":
        if not policies.is_editor(current_user):
            raise PermissionDenied(gettext("Only a manager or an admin may change synonyms."))
        try:
            if request.form.get("delete", "").isdigit():
                row = db.session.get(SynonymSet, int(request.form["delete"]))
                if row is None:
                    raise NotFound(gettext("No such synonym set."))
                services.delete_synonyms(current_user, row)
            else:
                services.save_synonyms(current_user, request.form.get("language", ""), request.form.get("terms", ""))
            db.session.commit()
            return redirect(url_for("kb.synonyms"))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
    return render("knowledge_base/synonyms.html", status=422 if errors else 200, errors=errors, rows=queries.synonym_sets(),
                  form=request.form, **_form_context())


@bp.get("/reports")
def reports():
    from sqlalchemy import desc

    from knowledge_base.models import Article

    days = request.args.get("days", "30")
    days = int(days) if days.isdigit() and 0 < int(days) <= 365 else 30
    most_viewed = db.session.scalars(select(Article).order_by(desc(Article.view_count)).limit(10)).all()
    least_helpful = db.session.scalars(select(Article).where(Article.not_helpful_count > 0)
                                       .order_by(desc(Article.not_helpful_count - Article.helpful_count)).limit(10)).all()
    return render("knowledge_base/reports.html", report=queries.search_report(days), days=days, most_viewed=most_viewed,
                  least_helpful=least_helpful)


# --- the one search box for agents ------------------------------------------------------------


@bp.get("/search")
def search():
    """Cases (number, subject, messages), contacts, organizations and articles for one query."""
    q = (request.args.get("q") or "").strip()
    exact = case_queries.get_case_by_number(q.upper()) if q else None
    if exact is not None and request.args.get("go") != "0" and not is_partial_request():
        return redirect(url_for("cases.show", case_id=exact.id))
    context = dict(q=q, cases=[], contacts=[], organizations=[], articles=None)
    if q:
        ids = [cid for cid, _ in search_index.search_cases(q, limit=10)]
        found = {c.id: c for c in db.session.scalars(select(Case).where(
            Case.id.in_(ids), Case.deleted_at.is_(None)))} if ids else {}
        cases = ([exact] if exact else []) + [found[i] for i in ids if i in found and (not exact or i != exact.id)]
        context.update(cases=cases, contacts=people_queries.search_contacts(q, limit=10),
                       organizations=people_queries.search_organizations(q, limit=10),
                       articles=queries.search(q, viewer=_viewer(), limit=10, log=True))
        db.session.commit()
    return render("knowledge_base/search.html", "knowledge_base/_search_results.html", **context)


# --- the loop with cases ----------------------------------------------------------------------


@bp.get("/cases/<int:case_id>/picker")
def picker(case_id: int):
    """Articles to insert into a reply on this case (an htmx partial; a page without JS)."""
    case = case_queries.get_case(case_id)
    q = (request.args.get("q") or "").strip()
    results = queries.search(q, viewer=_viewer(), limit=8, log=False) if q else None
    return render("knowledge_base/picker.html", "knowledge_base/_picker.html", case=case, q=q, results=results,
                  linked=queries.articles_of_case(case))


@bp.post("/cases/<int:case_id>/link/<int:article_id>")
def link_case(case_id: int, article_id: int):
    case = case_queries.get_case(case_id)
    article = queries.get_article(article_id)
    if request.form.get("unlink"):
        services.unlink_from_case(current_user, article, case)
    else:
        services.link_to_case(current_user, article, case)
    db.session.commit()
    if is_partial_request():
        return render_template("knowledge_base/_case_links.html", case=case, linked=queries.articles_of_case(case))
    if not request.form.get("unlink"):
        flash(gettext("Linked “%(title)s” to %(number)s: %(url)s", title=article.title, number=case.number,
                      url=public_article_url(article)), "success")
    return redirect(url_for("cases.show", case_id=case.id))


@bp.post("/cases/<int:case_id>/draft")
def draft_from_case(case_id: int):
    case = case_queries.get_case(case_id)
    article = services.draft_from_case(current_user, case, language=request.form.get("language") or None)
    db.session.commit()
    flash(gettext("A draft was made from the case, with the customer's personal data taken out. Check it before review."), "success")
    return redirect(url_for("kb.edit_article", article_id=article.id))


@bp.get("/cases/<int:case_id>/panel")
def case_panel(case_id: int):
    case = case_queries.get_case(case_id)
    return render_template("knowledge_base/_case_panel.html", case=case, linked=queries.articles_of_case(case))
