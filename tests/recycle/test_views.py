import pytest
from sqlalchemy import select

from helpdesk.cases.models import Case
from helpdesk.extensions import db
from helpdesk.people.models import Contact, Organization
from helpdesk.recycle.models import RecycleEntry

HTMX = {"HX-Request": "true"}


@pytest.fixture
def signed_in(client, login, agent):
    return login(agent)


def _entry(kind, object_id):
    return db.session.scalar(select(RecycleEntry).where(RecycleEntry.kind == kind, RecycleEntry.object_id == object_id))


def test_case_page_has_a_delete_button_that_moves_the_case_to_the_bin(signed_in, agent, make_case):
    case = make_case(agent, subject="Delete me please")
    page = signed_in.get(f"/cases/{case.id}").get_data(as_text=True)
    assert f'action="/recycle-bin/delete/case/{case.id}"' in page

    response = signed_in.post(f"/recycle-bin/delete/case/{case.id}")

    assert response.status_code == 302 and response.headers["Location"].endswith("/cases")
    assert signed_in.get(f"/cases/{case.id}").status_code == 404
    assert "Delete me please" not in signed_in.get("/cases?queue=open").get_data(as_text=True)
    assert "Delete me please" not in signed_in.get("/cases?queue=recent&q=Delete+me").get_data(as_text=True)
    listing = signed_in.get("/recycle-bin").get_data(as_text=True).split('id="recycle-entries"')[1]
    assert "Delete me please" in listing and "Restore" in listing
    assert "Delete forever" not in listing  # admins only


def test_organization_page_delete_and_restore_from_the_bin(signed_in, acme):
    org, ann, bob, case_a, case_b = acme
    page = signed_in.get(f"/organizations/{org.id}").get_data(as_text=True)
    assert f'/recycle-bin/delete/organization/{org.id}' in page

    signed_in.post(f"/recycle-bin/delete/organization/{org.id}")
    assert signed_in.get(f"/organizations/{org.id}").status_code == 404
    assert signed_in.get(f"/contacts/{ann.id}").status_code == 404
    assert "Ann Acme" not in signed_in.get("/contacts").get_data(as_text=True)
    listing = signed_in.get("/recycle-bin").get_data(as_text=True)
    assert "Acme Ltd" in listing and "2 contacts, 2 cases" in listing

    entry = _entry("organization", org.id)
    response = signed_in.post(f"/recycle-bin/{entry.id}/restore")

    assert response.status_code == 302 and response.headers["Location"].endswith(f"/organizations/{org.id}")
    assert signed_in.get(f"/organizations/{org.id}").status_code == 200
    assert "Ann Acme" in signed_in.get("/contacts").get_data(as_text=True)
    assert signed_in.get(f"/cases/{case_a.id}").status_code == 200
    assert "Acme Ltd" not in signed_in.get("/recycle-bin").get_data(as_text=True).split('id="recycle-entries"')[1]


def test_bin_filters_by_kind_and_answers_htmx_with_the_partial(signed_in, agent, make_case, make_contact):
    case = make_case(agent, subject="A deleted case")
    contact = make_contact(name="Deleted Dora")
    signed_in.post(f"/recycle-bin/delete/case/{case.id}")
    signed_in.post(f"/recycle-bin/delete/contact/{contact.id}")

    only_contacts = signed_in.get("/recycle-bin?kind=contact").get_data(as_text=True).split('id="recycle-entries"')[1]
    assert "Deleted Dora" in only_contacts and "A deleted case" not in only_contacts
    partial = signed_in.get("/recycle-bin?kind=case", headers=HTMX)
    html = partial.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="recycle-entries">') and "<html" not in html
    assert "A deleted case" in html and "Deleted Dora" not in html


def test_restore_refused_is_explained_on_the_bin_page(signed_in, acme, clock):
    org, ann, *_ = acme
    signed_in.post(f"/recycle-bin/delete/contact/{ann.id}")
    db.session.get(Organization, org.id).deleted_at = clock.now  # deleted outside the bin
    entry = _entry("contact", ann.id)

    response = signed_in.post(f"/recycle-bin/{entry.id}/restore", follow_redirects=True)

    assert "belongs to organization Acme Ltd" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Contact, ann.id).deleted_at is not None


def test_only_admins_delete_forever(client, login, agent, admin, make_case):
    case = make_case(agent)
    case_id = case.id
    login(agent)
    client.post(f"/recycle-bin/delete/case/{case_id}")
    entry_id = _entry("case", case_id).id
    assert client.post(f"/recycle-bin/{entry_id}/purge").status_code == 403
    assert db.session.get(Case, case_id) is not None

    client.post("/logout")
    login(admin)
    assert "Delete forever" in client.get("/recycle-bin").get_data(as_text=True)
    assert client.post(f"/recycle-bin/{entry_id}/purge").status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, case_id) is None and db.session.get(RecycleEntry, entry_id) is None


def test_deleting_needs_the_right_to_edit_that_kind(client, login, agent, make_user):
    from helpdesk.assets.services import save_product

    product = save_product(None, None, name="Printer 200", code="PRN-200")
    login(agent)
    assert client.post(f"/recycle-bin/delete/product/{product.id}").status_code == 403
    db.session.expire_all()
    assert db.session.get(type(product), product.id).deleted_at is None
    client.post("/logout")
    login(make_user("manager"))
    assert client.post(f"/recycle-bin/delete/product/{product.id}").status_code == 302


@pytest.mark.parametrize("url", ["/recycle-bin", "/recycle-bin/1/restore", "/recycle-bin/delete/case/1"])
def test_anonymous_is_sent_to_login(client, url):
    response = client.post(url) if "restore" in url or "delete" in url else client.get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_unknown_kind_and_entry_are_404(signed_in):
    assert signed_in.post("/recycle-bin/delete/spaceship/1").status_code == 404
    assert signed_in.post("/recycle-bin/999999/restore").status_code == 404


def test_delete_confirmation_is_safe_for_any_name(signed_in, make_contact):
    contact = make_contact(name="O'Brien \"<b>Bold</b>\"\nSecond line")
    html = signed_in.get(f"/contacts/{contact.id}").get_data(as_text=True)
    form = html.split('class="d-inline recycle-delete"')[1].split(">")[0]
    assert "onsubmit='return confirm(" in form
    assert "O\\u0027Brien" in form and "\\u003cb\\u003e" in form and "\\n" in form and "<b>" not in form
