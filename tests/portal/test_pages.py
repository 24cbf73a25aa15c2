"""Every portal page renders for a signed-in customer in each of the five languages."""
from __future__ import annotations

import pytest

from helpdesk.cases import services as cases
from helpdesk.cases.models import Status
from helpdesk.i18n import LANGUAGES


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_every_page_renders_in_every_language(language, make_customer, make_organization, make_case, make_user,
                                              portal_login):
    contact = make_customer(organization=make_organization(), role="org_manager")
    case = make_case(contact=contact, subject="Printer offline")
    done = make_case(contact=contact, subject="Old question")
    cases.change_status(make_user(), done, Status.RESOLVED)
    client = portal_login(contact)
    client.post("/language", data={"language": language, "next": "/portal/"})
    for url in ["/portal/", "/portal/?scope=all&state=all", f"/portal/cases/{case.id}", f"/portal/cases/{done.id}",
                f"/portal/cases/{done.id}/rate", "/portal/cases/new", "/portal/assets", "/portal/contracts",
                "/portal/profile", "/help/", "/help/?q=printer"]:
        response = client.get(url)
        html = response.get_data(as_text=True)
        assert response.status_code == 200, (url, html[:500])
        assert f'<html lang="{language}" dir="{"rtl" if language == "fa" else "ltr"}"' in html, url
    anonymous = client.application.test_client()
    anonymous.post("/language", data={"language": language, "next": "/"})
    for url in ["/portal/login", "/portal/reset", "/help/", "/help/contact"]:
        assert anonymous.get(url).status_code == 200, url
