"""Merging a duplicate contact: everything moves, nothing is lost, the history says so."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from helpdesk.cases import services as cases
from helpdesk.cases.models import Activity, Case, Message
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.notifications import services as notifications
from helpdesk.people import services
from helpdesk.people.models import Contact, ContactRole, CustomerActivity


@pytest.fixture
def manager(make_user):
    return make_user(role="manager", name="Mia Manager")


@pytest.fixture
def pair(make_contact, make_organization):
    acme = make_organization(name="Acme Corp")
    keep = make_contact(name="Ann Smith", email="ann@acme.example", organization=acme)
    dupe = make_contact(name="Anne Smith", email="anne.smith@home.example", phone="+1 555 0100",
                        role=ContactRole.BILLING, job_title="Accounts", notes="Prefers phone")
    return keep, dupe


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_merge_moves_everything(manager, pair, make_case, make_user, make_asset, make_contract, make_rating,
                                make_time_log):
    keep, dupe = pair
    agent = make_user()
    case1 = make_case(contact=dupe, subject="Invoice wrong")
    case2 = make_case(contact=dupe, subject="Printer jammed")
    cases.add_customer_message(dupe, case1, body="Any news?")
    other_case = make_case(subject="Someone else's")  # on another contact
    cases.add_customer_message(dupe, other_case, body="Copying myself in")  # dupe wrote on it
    asset = make_asset(contact=dupe)
    contract = make_contract(contact=dupe)
    rating = make_rating(case2, 5)
    make_time_log(case1, agent)
    notifications.follow(agent, "contact", dupe.id)
    before_messages = _count(Message, Message.author_contact_id == dupe.id)
    assert before_messages == 4  # two opening messages, two replies

    moved = services.merge_contacts(manager, dupe, keep)

    assert moved["cases"] == 2 and moved["messages"] == 4 and moved["assets"] == 1
    assert moved["service_contracts"] == 1 and moved["ratings"] == 1
    assert _count(Case, Case.contact_id == dupe.id) == 0
    assert {c.id for c in db.session.scalars(select(Case).where(Case.contact_id == keep.id))} == {case1.id, case2.id}
    assert _count(Message, Message.author_contact_id == dupe.id) == 0
    assert _count(Message, Message.author_contact_id == keep.id) == 4
    assert _count(Activity, Activity.actor_contact_id == dupe.id) == 0
    assert db.session.get(type(asset), asset.id).contact_id == keep.id
    assert db.session.get(type(contract), contract.id).contact_id == keep.id
    assert db.session.get(type(rating), rating.id).contact_id == keep.id
    assert notifications.is_following(agent, "contact", keep.id)
    # The duplicate stays as a pointer; its address leads to the kept contact.
    dupe, keep = db.session.get(Contact, dupe.id), db.session.get(Contact, keep.id)
    assert dupe.merged_into_id == keep.id
    assert services.find_or_create_contact(None, email="anne.smith@home.example") == keep
    # Nothing lost: blanks filled, the second address and the notes kept.
    assert keep.phone == "+1 555 0100" and keep.role == ContactRole.BILLING and keep.job_title == "Accounts"
    assert keep.email == "ann@acme.example"
    assert "anne.smith@home.example" in keep.notes and "Prefers phone" in keep.notes


def test_merge_leaves_a_trail(manager, pair, make_case):
    keep, dupe = pair
    case = make_case(contact=dupe)
    services.merge_contacts(manager, dupe, keep)
    [row] = db.session.scalars(select(Activity).where(Activity.case_id == case.id, Activity.field == "contact"))
    assert row.actor_user_id == manager.id and row.old.startswith("Anne Smith") and row.new.startswith("Ann Smith")
    assert "merged into" in row.reason
    trail = {a.action: a for a in db.session.scalars(select(CustomerActivity).where(CustomerActivity.action.like("merged%")))}
    assert trail["merged_in"].contact_id == keep.id and "1 cases" in trail["merged_in"].reason
    assert trail["merged"].contact_id == dupe.id and trail["merged"].actor_user_id == manager.id
    # The duplicate's own history went with it.
    created = db.session.scalars(select(CustomerActivity).where(CustomerActivity.action == "created",
                                                           CustomerActivity.contact_id.is_not(None))).all()
    assert {a.contact_id for a in created} == {keep.id}


def test_merge_dedupes_rows_the_target_already_has(manager, pair, make_case, make_user):
    keep, dupe = pair
    agent = make_user()
    notifications.follow(agent, "contact", dupe.id)
    notifications.follow(agent, "contact", keep.id)
    services.merge_contacts(manager, dupe, keep)
    assert [u.id for u in notifications.followers("contact", keep.id)] == [agent.id]


@pytest.mark.parametrize("how", ["self", "merged", "deleted"])
def test_merge_refuses_nonsense(manager, pair, make_contact, how):
    from helpdesk.errors import Conflict, NotFound
    from helpdesk.types import utcnow

    keep, dupe = pair
    if how == "self":
        with pytest.raises(ValidationFailed):
            services.merge_contacts(manager, keep, keep)
    elif how == "merged":
        services.merge_contacts(manager, dupe, keep)
        with pytest.raises(Conflict):
            services.merge_contacts(manager, dupe, make_contact())
    else:
        keep.deleted_at = utcnow()
        with pytest.raises(NotFound):
            services.merge_contacts(manager, dupe, keep)


# --- the page and who may use it ---------------------------------------------------------------------


def test_agents_may_not_merge(client, login, make_user, pair):
    keep, dupe = pair
    login(make_user(role="agent"))
    assert client.get(f"/contacts/{dupe.id}/merge").status_code == 403
    assert client.post(f"/contacts/{dupe.id}/merge", data={"target_id": keep.id}).status_code == 403
    assert "Merge" not in client.get(f"/contacts/{dupe.id}").get_data(as_text=True).split("oneview-header")[1].split("</div>\n</div>")[0]
    assert db.session.get(Contact, dupe.id).merged_into_id is None


def test_manager_merges_from_the_page(client, login, manager, pair, make_case):
    keep, dupe = pair
    case = make_case(contact=dupe)
    login(manager)
    page = client.get(f"/contacts/{dupe.id}/merge?q=ann").get_data(as_text=True)
    assert f'value="{keep.id}"' in page and "Ann Smith" in page
    response = client.post(f"/contacts/{dupe.id}/merge", data={"target_id": str(keep.id)})
    assert response.status_code == 302 and response.headers["Location"] == f"/contacts/{keep.id}"
    assert db.session.get(Case, case.id).contact_id == keep.id
    # The old page leads to the kept contact.
    response = client.get(f"/contacts/{dupe.id}")
    assert response.status_code == 302 and response.headers["Location"] == f"/contacts/{keep.id}"
    assert client.post(f"/contacts/{keep.id}/merge", data={"target_id": "999999"}).status_code == 422


def test_rows_keyed_on_the_contact_are_not_doubled(pair):
    """A table whose key includes the contact (like the mailroom's case watchers): target's own
    row stands for both, source's other rows move."""
    from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table, insert

    keep, dupe = pair
    watchers = Table("tmp_watchers", MetaData(), Column("case_no", Integer, primary_key=True),
                     Column("contact_id", ForeignKey(Contact.__table__.c.id), primary_key=True))
    watchers.create(db.session.connection())
    db.session.execute(insert(watchers), [{"case_no": 1, "contact_id": dupe.id}, {"case_no": 2, "contact_id": dupe.id},
                                          {"case_no": 1, "contact_id": keep.id}])
    assert services._repoint(watchers, watchers.c.contact_id, dupe.id, keep.id) == 1
    rows = sorted(db.session.execute(select(watchers.c.case_no, watchers.c.contact_id)).all())
    assert rows == [(1, keep.id), (2, keep.id)]
