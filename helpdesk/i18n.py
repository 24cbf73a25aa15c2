"""Languages: Flask-Babel set up for the whole app, the locale choice, and the compiled catalogs.

The catalogs are kept as .po files in translations/ (English source strings, then ru, it,
bg and fa). They are compiled to .mo into the instance folder when the app starts and a .po
is newer than its .mo, so a fresh checkout needs no build step and no committed binaries.

Which language a request gets. Visitor pages (the blueprints an edge package hands to
serve_visitors: the portal, the help center, the chat widget): the visitor's own choice (the
`lang` cookie set by the language picker), then a signed-in customer's saved language (views
put it in g.preferred_language), then the browser's Accept-Language, then English. Staff
pages: the signed-in user's own setting (User.language, chosen on the Preferences page), else
English — never the browser's or the portal cookie, so an agent's screen changes language only
when they ask. A request outside any blueprint (a 404) follows the staff rule when a staff
member is signed in, the visitor rule otherwise.
"""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Blueprint, Flask, current_app, g, has_request_context, redirect, request
from flask_babel import Babel, get_locale, refresh
from flask_login import current_user

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIR = ROOT / "translations"
DOMAIN = "messages"
# In the language's own name, as the picker shows them.
LANGUAGES = {"en": "English", "ru": "Русский", "it": "Italiano", "bg": "Български", "fa": "فارسی"}
RTL_LANGUAGES = {"fa"}
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600

babel = Babel()
bp = Blueprint("i18n", __name__)


def serve_visitors(app: Flask, *blueprint_names: str) -> None:
    """Mark blueprints as visitor pages: they follow the picker and the browser, not User.language."""
    app.extensions.setdefault("i18n_visitor_blueprints", set()).update(blueprint_names)


def _is_visitor_page() -> bool:
    blueprint = request.blueprint
    if blueprint is None:
        return not current_user.is_authenticated
    return blueprint in current_app.extensions.get("i18n_visitor_blueprints", ())


def select_locale() -> str:
    if not has_request_context():
        return g.get("preferred_language") or "en"
    if not _is_visitor_page():
        language = getattr(current_user, "language", None) if current_user.is_authenticated else None
        return language if language in LANGUAGES else "en"
    chosen = request.cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return chosen
    preferred = g.get("preferred_language")
    if preferred in LANGUAGES:
        return preferred
    return request.accept_languages.best_match(list(LANGUAGES), default="en")


def current_language() -> str:
    locale = get_locale()
    return locale.language if locale is not None and locale.language in LANGUAGES else "en"


def is_rtl(language: str | None = None) -> bool:
    return (language or current_language()) in RTL_LANGUAGES


_DIGITS = {"fa": str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")}


def native_digits(text: str, language: str | None = None) -> str:
    table = _DIGITS.get(language or current_language())
    return text.translate(table) if table else text


def _native_digits(format_function):
    def formatted(*args, **kwargs):
        return native_digits(str(format_function(*args, **kwargs)))

    return formatted


def compile_catalogs(source: Path, target: Path) -> list[str]:
    """Compile each translations/<lang>/LC_MESSAGES/messages.po whose .mo is missing or older."""
    done = []
    for po_path in sorted(source.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        language = po_path.parts[-3]
        mo_path = target / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        tmp = mo_path.with_suffix(f".mo.{os.getpid()}.tmp")
        with tmp.open("wb") as handle:
            write_mo(handle, catalog)
        tmp.replace(mo_path)  # atomic: several processes may start at once
        done.append(language)
    return done


def use_language(preferred: str | None = None) -> None:
    """Settle the request's language; call again with a signed-in customer's saved language."""
    if preferred:
        g.preferred_language = preferred
        refresh()
    # base.html and portal/base.html read these for <html lang dir>.
    g.lang = current_language()
    g.text_direction = "rtl" if is_rtl(g.lang) else "ltr"


@bp.post("/language")
def set_language():
    """The visitors' language picker (portal and help center), remembered in a cookie."""
    language = request.form.get("language", "")
    target = request.form.get("next") or "/"
    if not target.startswith("/") or target.startswith("//") or urlsplit(target).netloc:
        target = "/"
    response = redirect(target)
    if language in LANGUAGES:
        response.set_cookie(COOKIE, language, max_age=COOKIE_MAX_AGE, samesite="Lax", httponly=True,
                            secure=current_app.config.get("SESSION_COOKIE_SECURE", False))
    return response


def init_app(app: Flask) -> None:
    compiled = Path(app.instance_path) / "translations"
    compile_catalogs(SOURCE_DIR, compiled)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(compiled))
    babel.init_app(app, locale_selector=select_locale)
    app.register_blueprint(bp)

    app.before_request(use_language)

    # Babel writes Latin digits for Persian; Persian readers expect their own (۰-۹).
    for name in ("datetimeformat", "dateformat", "timeformat", "numberformat", "decimalformat", "percentformat"):
        app.jinja_env.filters[name] = _native_digits(app.jinja_env.filters[name])
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["current_language"] = current_language
