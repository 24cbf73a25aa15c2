"""The help center: knowledge base and FAQ for everyone, feedback, and the contact form."""
from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from helpdesk.auth.services import TooManyAttempts
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import current_language
from helpdesk.satisfaction import services as satisfaction
from helpdesk.satisfaction.models import FunnelStep
from helpdesk.web import render
from portal import kb, services
from portal.errors import handle_errors
from portal.auth import load_contact

bp = Blueprint("help", __name__, url_prefix="/help")
bp.before_request(load_contact)
handle_errors(bp)


@bp.get("/")
def index():
    q = request.args.get("q", "").strip()[:200]
    language = current_language()
    results = kb.search(q, g.contact, language, limit=20) if q else None
    if results is not None:
        db.session.commit()  # the search log
    return render("portal/help/index.html", "portal/help/_results.html", q=q, results=results,
                  popular=[] if q else kb.popular(g.contact, language), faqs=[] if q else kb.faqs(g.contact, language))


@bp.get("/topics")
def topics():
    return render("portal/help/topics.html", nodes=kb.categories(g.contact, current_language()))


@bp.get("/topics/<slug>")
def topic(slug: str):
    category = kb.category(slug)
    language = current_language()
    return render("portal/help/topic.html", category=category, name=category.name_in(language),
                  articles=kb.articles_in_category(category.id, g.contact, language))


@bp.get("/articles/<int:article_id>")
@bp.get("/articles/<int:article_id>/<slug>")
def article(article_id: int, slug: str = ""):
    item = kb.article(article_id, g.contact, current_language())
    attempt = request.args.get("attempt", "")
    if attempt:
        satisfaction.record_funnel_step(attempt, FunnelStep.ARTICLE_OPENED, contact=g.contact, article_id=item.id)
    kb.record_view(item)
    db.session.commit()
    return render("portal/help/article.html", article=item, attempt=attempt, voted=None,
                  related=kb.related(item, g.contact), translations=kb.translations(item, g.contact))


@bp.post("/articles/<int:article_id>/feedback")
def feedback(article_id: int):
    item = kb.article(article_id, g.contact, current_language())
    helpful = request.form.get("helpful") == "1"
    kb.record_feedback(item, g.contact, helpful, request.form.get("comment", "")[:2000])
    db.session.commit()
    return render("portal/help/article.html", "portal/help/_feedback.html", article=item,
                  attempt=request.form.get("attempt", ""), voted=helpful,
                  related=kb.related(item, g.contact), translations=kb.translations(item, g.contact))


@bp.route("/contact", methods=["GET", "POST"])
def contact():
    if g.contact is not None:
        return redirect(url_for("portal.new_case"))
    if request.method == "POST":
        form = request.form
        try:
            services.submit_contact_request(name=form.get("name", ""), email=form.get("email", ""),
                                            subject=form.get("subject", ""), body=form.get("body", ""),
                                            language=current_language(), ip=request.remote_addr)
        except ValidationFailed as exc:
            db.session.rollback()
            return render_template("portal/help/contact.html", errors=exc.errors, form=form), 422
        except TooManyAttempts as exc:
            db.session.rollback()
            return render_template("portal/help/contact.html", errors={"email": exc.message}, form=form), 429
        db.session.commit()
        return render_template("portal/notice.html", title=_("Check your email"),
                               message=_("We sent you a link to confirm your address. Your case is opened "
                                         "as soon as you follow it."))
    return render_template("portal/help/contact.html", errors={}, form={})


@bp.get("/contact/confirm/<token>")
def confirm_contact(token: str):
    case = services.confirm_contact_request(token)
    db.session.commit()
    return render_template("portal/notice.html", title=_("Thank you"),
                           message=_("Your case %(number)s is open. We will answer you by email.", number=case.number))
