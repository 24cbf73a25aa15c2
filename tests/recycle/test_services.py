import io

import pytest
from sqlalchemy import func, select

from helpdesk.cases import queries as case_queries
from helpdesk.cases.attachments import blob_path
from helpdesk.cases.models import Activity, Attachment, Blob, Case, Message
from helpdesk.cases.services import Upload, add_note
from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.people.models import Contact, CustomerActivity, Organization
from helpdesk.recycle import services
from helpdesk.recycle.jobs import purge_recycle_bin
from helpdesk.recycle.models import RecycleEntry, RecycleItem


def _fresh(model, obj_id):
    db.session.expire_all()
    return db.session.get(model, obj_id)


def _queue_subjects(user):
    page = case_queries.case_page(user, case_queries.CaseFilter(queue="open"))
    return {c.subject for c in page.cases}


def test_deleting_an_organization_takes_its_contacts_and_their_cases(clock, agent, acme):
    org, ann, bob, case_a, case_b = acme
    assert {"Ann's printer", "Bob's laptop"} <= _queue_subjects(agent)

    entry = services.delete_record(agent, "organization", org.id)

    assert entry.label == "Acme Ltd" and entry.summary == "2 contacts, 2 cases"
    assert {(i.kind, i.object_id) for i in entry.items} == {
        ("organization", org.id), ("contact", ann.id), ("contact", bob.id), ("case", case_a.id), ("case", case_b.id)}
    for model, obj in ((Organization, org), (Contact, ann), (Contact, bob), (Case, case_a), (Case, case_b)):
        assert _fresh(model, obj.id).deleted_at == clock.now
    assert not {"Ann's printer", "Bob's laptop"} & _queue_subjects(agent)
    with pytest.raises(NotFound):
        case_queries.get_case(case_a.id)
    history = db.session.scalars(select(Activity).where(Activity.case_id == case_a.id, Activity.action == "deleted")).all()
    assert len(history) == 1 and history[0].reason == "with organization Acme Ltd" and history[0].actor_user_id == agent.id


def test_restoring_an_organization_puts_back_exactly_what_went_with_it(clock, agent, acme, make_case):
    org, ann, bob, case_a, case_b = acme
    # Deleted before the organization: it stays in the bin when the organization comes back.
    earlier = services.delete_record(agent, "case", case_b.id)
    clock.advance(hours=1)
    entry = services.delete_record(agent, "organization", org.id)
    assert entry.summary == "2 contacts, 1 case"
    clock.advance(days=29)

    restored = services.restore_entry(agent, entry)

    assert [e.kind for e in restored] == ["organization"]
    assert _fresh(Organization, org.id).deleted_at is None
    assert _fresh(Contact, ann.id).deleted_at is None and _fresh(Contact, bob.id).deleted_at is None
    assert _fresh(Case, case_a.id).deleted_at is None
    assert _fresh(Case, case_b.id).deleted_at is not None  # its own deletion still stands
    assert "Ann's printer" in _queue_subjects(agent) and "Bob's laptop" not in _queue_subjects(agent)
    assert db.session.get(RecycleEntry, entry.id) is None and db.session.get(RecycleEntry, earlier.id) is not None
    assert db.session.scalar(select(func.count()).select_from(RecycleItem).where(RecycleItem.entry_id == entry.id)) == 0
    actions = db.session.scalars(select(Activity.action).where(Activity.case_id == case_a.id).order_by(Activity.id)).all()
    assert actions[-2:] == ["deleted", "restored"]
    org_history = db.session.scalars(select(CustomerActivity.action).where(CustomerActivity.organization_id == org.id)
                                     .order_by(CustomerActivity.id)).all()
    assert org_history[-2:] == ["deleted", "restored"]
    ann_history = db.session.scalars(select(CustomerActivity).where(CustomerActivity.contact_id == ann.id)
                                     .order_by(CustomerActivity.id)).all()
    assert [(h.action, h.reason) for h in ann_history[-2:]] == [
        ("deleted", "with organization Acme Ltd"), ("restored", "with organization Acme Ltd")]


def test_restoring_a_contact_whose_organization_is_in_the_bin_restores_the_organization_too(clock, agent, acme):
    org, ann, bob, case_a, case_b = acme
    first = services.delete_record(agent, "contact", ann.id)
    org_entry = services.delete_record(agent, "organization", org.id)
    assert ("contact", ann.id) not in {(i.kind, i.object_id) for i in org_entry.items}

    restored = services.restore_entry(agent, first)

    assert [e.kind for e in restored] == ["contact", "organization"]
    assert _fresh(Contact, ann.id).deleted_at is None and _fresh(Organization, org.id).deleted_at is None
    assert _fresh(Contact, bob.id).deleted_at is None and _fresh(Case, case_a.id).deleted_at is None


def test_restoring_a_case_whose_contact_is_in_the_bin_brings_the_contact_back(clock, agent, make_case, make_contact):
    carl = make_contact(name="Carl")
    case = make_case(agent, contact=carl)
    case_entry = services.delete_record(agent, "case", case.id)
    services.delete_record(agent, "contact", carl.id)

    restored = services.restore_entry(agent, case_entry)

    assert {e.kind for e in restored} == {"case", "contact"}
    assert _fresh(Contact, carl.id).deleted_at is None and _fresh(Case, case.id).deleted_at is None


def test_restore_says_why_when_the_parent_was_deleted_outside_the_bin(clock, agent, acme):
    org, ann, *_ = acme
    entry = services.delete_record(agent, "contact", ann.id)
    db.session.get(Organization, org.id).deleted_at = clock.now  # e.g. by a script, not the bin
    db.session.flush()

    with pytest.raises(ValidationFailed) as err:
        services.restore_entry(agent, entry)

    assert "belongs to organization Acme Ltd" in err.value.errors["entry"]
    assert _fresh(Contact, ann.id).deleted_at is not None


def test_restore_is_refused_after_the_retention_period(clock, agent, make_case):
    case = make_case(agent)
    entry = services.delete_record(agent, "case", case.id)
    clock.advance(days=30, minutes=1)
    with pytest.raises(ValidationFailed, match="more than 30 days ago"):
        services.restore_entry(agent, entry)


def test_deleting_twice_is_not_found(clock, agent, make_case):
    case = make_case(agent)
    services.delete_record(agent, "case", case.id)
    with pytest.raises(NotFound):
        services.delete_record(agent, "case", case.id)


def _attach(agent, case, name, content):
    return add_note(agent, case, body="see file", uploads=[Upload(name, io.BytesIO(content))])


def test_purge_after_retention_removes_the_records_and_only_unused_attachments(app, clock, agent, acme, make_case):
    org, ann, bob, case_a, case_b = acme
    _attach(agent, case_a, "only-here.txt", b"used by the deleted case only")
    _attach(agent, case_a, "shared.txt", b"also attached to a live case")
    keeper = make_case(agent, subject="Live case keeps its file")
    _attach(agent, keeper, "shared-copy.txt", b"also attached to a live case")
    db.session.flush()
    blobs = {a.filename: a.blob_sha256 for a in db.session.scalars(select(Attachment))}
    root = app.config["ATTACHMENT_DIR"]
    assert all(blob_path(root, sha).exists() for sha in blobs.values())
    message_ids = [m.id for m in db.session.scalars(select(Message).where(Message.case_id == case_a.id))]
    gone = [(Organization, org.id), (Contact, ann.id), (Contact, bob.id), (Case, case_a.id), (Case, case_b.id)]
    case_a_id, keeper_id = case_a.id, keeper.id
    services.delete_record(agent, "organization", org.id)

    clock.advance(days=29)
    assert purge_recycle_bin() == 0
    assert db.session.get(Case, case_a_id) is not None

    clock.advance(days=1, minutes=1)
    assert purge_recycle_bin() == 1

    db.session.expire_all()
    for model, obj_id in gone:
        assert db.session.get(model, obj_id) is None
    assert not db.session.scalars(select(Message).where(Message.id.in_(message_ids))).all()
    assert db.session.scalar(select(func.count()).select_from(RecycleEntry)) == 0
    assert db.session.get(Blob, blobs["only-here.txt"]) is None
    assert not blob_path(root, blobs["only-here.txt"]).exists()
    assert db.session.get(Blob, blobs["shared.txt"]) is not None
    assert blob_path(root, blobs["shared.txt"]).exists()
    assert [a.filename for a in db.session.get(Case, keeper_id).messages[-1].attachments] == ["shared-copy.txt"]


def test_retention_is_configurable(app, clock, agent, make_case, monkeypatch):
    monkeypatch.setitem(app.config, "RECYCLE_RETENTION_DAYS", 2)
    case_id = make_case(agent).id
    services.delete_record(agent, "case", case_id)
    clock.advance(days=2, seconds=1)
    assert purge_recycle_bin() == 1
    db.session.expire_all()
    assert db.session.get(Case, case_id) is None


def test_a_product_goes_with_its_assets_and_an_asset_restored_alone_brings_its_product(clock, agent, make_contact):
    from helpdesk.assets.models import Asset, Product
    from helpdesk.assets.services import save_asset, save_product

    printer = save_product(None, None, name="Printer 200", code="PRN-200")
    owner = make_contact(name="Olga Owner")
    first = save_asset(None, None, {"serial_number": "SN-1", "product_id": str(printer.id), "contact_id": str(owner.id)})
    second = save_asset(None, None, {"serial_number": "SN-2", "product_id": str(printer.id)})
    asset_entry = services.delete_record(agent, "asset", first.id)
    product_entry = services.delete_record(agent, "product", printer.id)
    assert product_entry.summary == "1 asset"
    assert _fresh(Asset, second.id).deleted_at is not None

    restored = services.restore_entry(agent, asset_entry)

    assert [e.kind for e in restored] == ["asset", "product"]
    assert _fresh(Product, printer.id).deleted_at is None
    assert _fresh(Asset, first.id).deleted_at is None and _fresh(Asset, second.id).deleted_at is None


def test_deleting_a_contact_takes_its_assets_and_contracts(clock, agent, make_contact):
    from datetime import date

    from helpdesk.assets.models import Asset
    from helpdesk.assets.services import save_asset, save_product
    from helpdesk.contracts.models import ServiceContract

    carl = make_contact(name="Carl")
    product = save_product(None, None, name="Router", code="RT-1")
    asset = save_asset(None, None, {"serial_number": "RT-77", "product_id": str(product.id), "contact_id": str(carl.id)})
    contract = ServiceContract(name="Carl's hours", contact_id=carl.id, start_date=date(2026, 1, 1), end_date=date(2026, 12, 31))
    db.session.add(contract)
    db.session.flush()

    entry = services.delete_record(agent, "contact", carl.id)

    assert {(i.kind, i.object_id) for i in entry.items} == {("contact", carl.id), ("asset", asset.id),
                                                             ("contract", contract.id)}
    assert _fresh(ServiceContract, contract.id).deleted_at is not None and _fresh(Asset, asset.id).deleted_at is not None
    services.restore_entry(agent, entry)
    assert _fresh(ServiceContract, contract.id).deleted_at is None and _fresh(Asset, asset.id).deleted_at is None


def test_the_purge_is_a_periodic_job(app):
    from helpdesk import jobs

    assert "helpdesk.recycle.jobs.purge_recycle_bin" in {p.name for p in jobs.periodic_jobs(app)}
