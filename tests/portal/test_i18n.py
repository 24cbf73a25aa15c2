"""Languages: browser detection, the picker, a customer's saved language, Persian right-to-left,
localized dates and numbers, and complete catalogs."""
from __future__ import annotations

import pytest
from babel.messages.pofile import read_po

from helpdesk.i18n import LANGUAGES, SOURCE_DIR, compile_catalogs

SIGN_IN = {"en": "Sign in to your support account", "ru": "Вход в учётную запись поддержки",
           "it": "Accedi al tuo account di assistenza", "bg": "Вход в профила ви за поддръжка",
           "fa": "ورود به حساب پشتیبانی"}


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_accept_language_picks_the_page_language(client, language):
    html = client.get("/portal/login", headers={"Accept-Language": f"{language};q=0.9, de;q=0.5"}).get_data(as_text=True)
    assert f'<html lang="{language}"' in html and SIGN_IN[language] in html
    assert ('dir="rtl"' in html and "bootstrap.rtl.min.css" in html) == (language == "fa")


def test_unknown_browser_language_falls_back_to_english(client):
    html = client.get("/portal/login", headers={"Accept-Language": "ja, zh;q=0.8"}).get_data(as_text=True)
    assert '<html lang="en" dir="ltr"' in html


def test_the_picker_wins_over_the_browser(client):
    response = client.post("/language", data={"language": "bg", "next": "/portal/login"})
    assert response.status_code == 302 and response.headers["Location"] == "/portal/login"
    html = client.get("/portal/login", headers={"Accept-Language": "it"}).get_data(as_text=True)
    assert '<html lang="bg"' in html


def test_the_picker_refuses_foreign_redirects_and_languages(client):
    response = client.post("/language", data={"language": "xx", "next": "https://evil.example/"})
    assert response.headers["Location"] == "/" and "lang=" not in response.headers.get("Set-Cookie", "")


def test_a_customers_saved_language_applies_after_sign_in(make_customer, portal_login):
    contact = make_customer(name="Farid")
    contact.language = "fa"
    html = portal_login(contact).get("/portal/").get_data(as_text=True)
    assert '<html lang="fa" dir="rtl"' in html and "درخواست‌های من" in html


def test_dates_and_numbers_are_localized(make_customer, make_case, portal_login, app):
    from datetime import datetime, timezone

    contact = make_customer()
    case = make_case(contact=contact, subject="Localized")
    case.created_at = datetime(2026, 3, 5, 9, 30, tzinfo=timezone.utc)
    client = portal_login(contact)
    it = client.get(f"/portal/cases/{case.id}", headers={"Accept-Language": "it"}).get_data(as_text=True)
    assert "5 mar 2026" in it
    client.post("/language", data={"language": "fa", "next": "/portal/"})
    fa = client.get(f"/portal/cases/{case.id}").get_data(as_text=True)
    assert "۲۰۲۶" in fa  # Persian digits


@pytest.mark.parametrize("language", [code for code in LANGUAGES if code != "en"])
def test_every_portal_string_is_translated(language):
    with (SOURCE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=language)
    untranslated = [m.id for m in catalog if m.id and not m.string and any(
        "portal" in path or "satisfaction" in path for path, _ in m.locations)]
    assert untranslated == []


def test_catalogs_compile_when_the_source_is_newer(tmp_path):
    target = tmp_path / "compiled"
    assert sorted(compile_catalogs(SOURCE_DIR, target)) == ["bg", "fa", "it", "ru"]
    assert compile_catalogs(SOURCE_DIR, target) == []  # up to date
    assert (target / "fa" / "LC_MESSAGES" / "messages.mo").stat().st_size > 1000


def test_english_faq_on_a_persian_page_keeps_its_own_direction(client):
    from helpdesk.extensions import db
    from knowledge_base.services import create_faq

    create_faq(None, {"question": "Who can see my cases?", "answer": "Only you and your organization's managers."})
    db.session.commit()
    html = client.get("/help/", headers={"Accept-Language": "fa"}).get_data(as_text=True)
    assert 'dir="rtl"' in html  # the page is right to left
    assert '<details class="border-bottom py-2" lang="en" dir="auto">' in html  # the English question is not
