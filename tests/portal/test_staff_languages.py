"""Staff pages speak the language the staff member chose on Preferences, never the browser's or the
portal's picker; the catalogs carry the staff strings."""
from __future__ import annotations

from babel.messages.pofile import read_po

from helpdesk.extensions import db
from helpdesk.i18n import SOURCE_DIR

RUSSIAN_BROWSER = {"Accept-Language": "ru-RU,ru;q=0.9"}


def test_an_agents_pages_are_english_whatever_the_browser_and_portal_cookie_say(client, make_user, login):
    agent = make_user()
    db.session.commit()
    login(agent)
    client.post("/language", data={"language": "ru", "next": "/portal/login"})  # the portal's picker
    html = client.get("/cases", headers=RUSSIAN_BROWSER).get_data(as_text=True)
    assert '<html lang="en" dir="ltr"' in html
    assert "> Cases" in html and "Обращения" not in html


def test_after_choosing_russian_the_nav_and_case_page_are_russian(client, make_user, make_case, login):
    agent = make_user()
    case = make_case(agent, subject="Принтер не печатает")
    db.session.commit()
    login(agent)
    page = client.get("/preferences").get_data(as_text=True)
    assert 'name="language"' in page and "Русский" in page

    response = client.post("/preferences", data={"language": "ru"})
    assert response.status_code == 302
    assert agent.language == "ru"
    nav = client.get("/cases").get_data(as_text=True)
    assert '<html lang="ru" dir="ltr"' in nav
    assert "Обращения" in nav and "Настройки" in nav  # the Cases tab and Preferences in the user menu
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Отправить ответ" in html and "Внутренняя заметка" in html  # the reply editor
    assert "Новое" in html  # the status badge


def test_a_persian_staff_page_is_right_to_left(client, make_user, login):
    agent = make_user()
    db.session.commit()
    login(agent)
    client.post("/preferences", data={"language": "fa"})
    html = client.get("/cases").get_data(as_text=True)
    assert '<html lang="fa" dir="rtl"' in html and "bootstrap.rtl.min.css" in html
    assert "درخواست‌ها" in html


def test_an_unknown_language_is_refused_and_nothing_changes(client, make_user, login):
    agent = make_user()
    db.session.commit()
    login(agent)
    response = client.post("/preferences", data={"language": "xx"})
    assert response.status_code == 422
    assert "Choose one of the languages in the list." in response.get_data(as_text=True)
    assert db.session.get(type(agent), agent.id).language == "en"


def test_the_portal_keeps_its_own_rules_for_a_signed_in_agent(client, make_user, login):
    agent = make_user()
    db.session.commit()
    login(agent)
    client.post("/preferences", data={"language": "fa"})
    html = client.get("/portal/login", headers={"Accept-Language": "it"}).get_data(as_text=True)
    assert '<html lang="it"' in html  # the browser's language, not the agent's Persian


def test_the_staff_sign_in_page_is_english_for_a_russian_browser(client):
    html = client.get("/login", headers=RUSSIAN_BROWSER).get_data(as_text=True)
    assert '<html lang="en"' in html and "Keep me signed in" in html


def test_the_catalogs_carry_the_staff_strings():
    with (SOURCE_DIR / "messages.pot").open("rb") as handle:
        template = read_po(handle)
    send = template.get("Send reply")
    assert send is not None and any(path == "templates/cases/_editor.html" for path, _ in send.locations)
    assert template.get("Wait for third party") is not None  # a status label, from the model
    with (SOURCE_DIR / "ru" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        assert read_po(handle, locale="ru").get("Send reply").string == "Отправить ответ"


def test_flash_messages_and_history_follow_the_agents_language(client, make_user, make_case, login):
    agent = make_user()
    case = make_case(agent, subject="Сканер")
    agent.language = "it"
    db.session.commit()
    login(agent)
    page = client.post(f"/cases/{case.id}/note", data={"body": "Nota interna."}, follow_redirects=True)
    html = page.get_data(as_text=True)
    assert "Nota aggiunta." in html  # "Note added."
    assert "proprio ora" in html  # the `ago` filter: "just now"
    client.post(f"/cases/{case.id}/update", data={"priority": "4", "version": case.version, "subject": case.subject,
                                                  "status": case.status.value})
    history = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "<strong>priorità</strong> da Normale a Urgente" in history  # stored in English, shown in Italian
