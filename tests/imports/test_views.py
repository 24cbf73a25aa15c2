import csv
import io

import pytest
import vobject
from sqlalchemy import select

from helpdesk.cases.models import Priority
from helpdesk.extensions import db
from helpdesk.imports.models import ImportRun, ImportStatus
from helpdesk.people.models import Contact

HTMX = {"HX-Request": "true"}


@pytest.fixture
def signed_in(client, login, manager):
    return login(manager)


def _upload(client, data: bytes, kind="contact", filename="people.csv"):
    return client.post("/imports", data={"kind": kind, "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def _csv(response) -> list[list[str]]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_upload_map_preview_run_and_report(signed_in):
    response = _upload(signed_in, "Full name;E-mail;Town\nAnn Lee;ann@example.org;Leeds\n;x@y.org;Nowhere\n".encode("cp1252"))
    assert response.status_code == 302
    run = db.session.scalar(select(ImportRun).order_by(ImportRun.id.desc()))
    page = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Map the columns of people.csv" in page and "Town (column 3)" in page
    assert 'value="0" selected' in page  # Full name guessed for Name
    assert "Ann Lee" in page and "Name is empty." in page  # the preview with its per-row check

    response = signed_in.post(f"/imports/{run.id}/mapping", data={
        "map_name": "0", "map_email": "1", "map_phone": "", "map_organization": "", "encoding": "cp1252",
        "delimiter": ";", "all_or_nothing": "0", "action": "run"})

    assert response.status_code == 302
    report = signed_in.get(f"/imports/{run.id}").get_data(as_text=True).split('id="import-progress"')[1]
    assert 'role="progressbar"' in report and "100%" in report and "every 1s" not in report
    assert '<strong class="imported-count">1</strong>' in report
    assert "Name is empty." in report and "<td>3</td>" in report
    assert db.session.scalar(select(Contact).where(Contact.email == "ann@example.org")).name == "Ann Lee"
    problems = signed_in.get(f"/imports/{run.id}/errors.csv")
    assert problems.mimetype == "text/csv" and list(csv.reader(io.StringIO(problems.get_data(as_text=True))))[1] == ["3", "Name is empty."]


def test_mapping_without_a_required_column_is_422_and_names_it(signed_in):
    response = _upload(signed_in, b"Email,Phone\na@example.org,1\n")
    run_id = int(response.headers["Location"].rsplit("/", 1)[1])
    response = signed_in.post(f"/imports/{run_id}/mapping", data={"map_name": "", "map_email": "0", "action": "run"})
    assert response.status_code == 422
    assert "Name is required: choose the column that holds it." in response.get_data(as_text=True)
    assert db.session.get(ImportRun, run_id).status == ImportStatus.MAPPING


def test_one_column_for_two_fields_is_refused(signed_in):
    response = _upload(signed_in, b"Name,Email\nAnn,a@example.org\n")
    run_id = int(response.headers["Location"].rsplit("/", 1)[1])
    response = signed_in.post(f"/imports/{run_id}/mapping", data={"map_name": "0", "map_email": "0", "action": "preview"})
    assert response.status_code == 422 and "chosen for more than one field" in response.get_data(as_text=True)


def test_progress_partial_polls_until_finished(signed_in, manager):
    run = ImportRun(kind="contact", filename="big.csv", blob_sha256=_blob(), status=ImportStatus.RUNNING,
                    user_id=manager.id, total_rows=200, processed_rows=50)
    db.session.add(run)
    db.session.flush()
    html = signed_in.get(f"/imports/{run.id}/progress", headers=HTMX).get_data(as_text=True)
    assert html.lstrip().startswith('<div id="import-progress"') and 'hx-trigger="every 1s"' in html
    assert 'aria-valuenow="25"' in html and "50 of 200 rows done" in html
    run.status, run.imported_rows = ImportStatus.DONE, 200
    html = signed_in.get(f"/imports/{run.id}/progress", headers=HTMX).get_data(as_text=True)
    assert "every 1s" not in html and 'aria-valuenow="100"' in html


def _blob():
    from helpdesk.cases.models import Blob

    db.session.add(Blob(sha256="0" * 64, size=0, content_type="text/plain"))
    return "0" * 64


def test_upload_errors_are_shown_on_the_form(signed_in):
    response = signed_in.post("/imports", data={"kind": "contact"}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Choose a file to import." in response.get_data(as_text=True)


def test_agents_may_export_but_not_import(client, login, make_user):
    login(make_user("agent"))
    assert client.get("/imports").status_code == 403
    assert _upload(client, b"Name\nAnn\n").status_code == 403
    assert client.get("/exports/contacts.csv").status_code == 200


@pytest.mark.parametrize("url", ["/imports", "/imports/1", "/exports/cases.csv", "/exports/contacts.vcf"])
def test_anonymous_is_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_case_export_follows_the_workspace_filters(signed_in, manager, make_case):
    urgent = make_case(manager, subject="=HYPERLINK(\"http://evil.example\",\"click\")", priority=Priority.URGENT)
    make_case(manager, subject="Calm question", priority=Priority.LOW)
    page = signed_in.get("/cases?queue=open&priority=4").get_data(as_text=True)
    assert "/exports/cases.csv?queue=open&amp;priority=4" in page

    rows = _csv(signed_in.get("/exports/cases.csv?queue=open&priority=4"))

    assert rows[0][:4] == ["Number", "Subject", "Status", "Priority"]
    assert [r[0] for r in rows[1:]] == [urgent.number]
    assert rows[1][1] == "'=HYPERLINK(\"http://evil.example\",\"click\")"  # shown as text, never run


def test_deleted_cases_are_not_exported(signed_in, manager, make_case):
    from helpdesk.recycle.services import delete_record

    gone = make_case(manager, subject="Gone case")
    make_case(manager, subject="Kept case")
    delete_record(manager, "case", gone.id)
    subjects = [r[1] for r in _csv(signed_in.get("/exports/cases.csv?queue=open"))[1:]]
    assert "Kept case" in subjects and "Gone case" not in subjects


def test_contact_csv_export_reimports_cleanly(signed_in, make_organization, make_contact):
    acme = make_organization(name="Acme")
    make_contact(name="Ann Lee", email="ann@acme.example", phone="+44 20 7946 0001", organization=acme)
    make_contact(name="@evil", email="evil@example.org")
    rows = _csv(signed_in.get("/exports/contacts.csv?q=acme"))
    assert rows[0][:4] == ["Name", "Email", "Phone", "Organization"]
    assert rows[1][:4] == ["Ann Lee", "ann@acme.example", "+44 20 7946 0001", "Acme"] and len(rows) == 2
    everyone = _csv(signed_in.get("/exports/contacts.csv"))
    assert ["'@evil", "evil@example.org"] in [r[:2] for r in everyone]


@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_vcard_export_in_both_versions(signed_in, make_organization, make_contact, version):
    acme = make_organization(name="Acme")
    make_contact(name="Zoë Müller", email="zoe@acme.example", phone="+49 30 1234567", organization=acme)
    response = signed_in.get(f"/exports/contacts.vcf?version={version}&q=zoe")
    assert response.mimetype == "text/vcard" and "attachment" in response.headers["Content-Disposition"]
    cards = list(vobject.readComponents(response.get_data(as_text=True)))
    assert len(cards) == 1
    card = cards[0]
    assert card.version.value == version and card.fn.value == "Zoë Müller" and card.email.value == "zoe@acme.example"
    assert card.org.value == ["Acme"]
    assert card.tel.value == ("tel:+49301234567" if version == "4.0" else "+49 30 1234567")


def test_organization_product_and_asset_exports(signed_in, make_organization):
    from helpdesk.assets.services import save_asset, save_product

    make_organization(name="Globex", domain="globex.example")
    printer = save_product(None, None, name="Printer 200", code="PRN-200", category="Printers")
    save_asset(None, None, {"serial_number": "SN-1", "product_id": str(printer.id), "date_sold": "2024-01-15"})
    assert ["Globex", "globex.example"] in [r[:2] for r in _csv(signed_in.get("/exports/organizations.csv"))]
    assert _csv(signed_in.get("/exports/products.csv?q=printer"))[1][:3] == ["Printer 200", "PRN-200", "Printers"]
    asset_rows = _csv(signed_in.get("/exports/assets.csv"))
    assert asset_rows[0][0] == "Serial number" and asset_rows[1][:2] == ["SN-1", "PRN-200"] and asset_rows[1][6] == "2024-01-15"


def test_vcard_upload_skips_to_a_fixed_mapping_and_imports(signed_in):
    card = "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Vera Card\r\nEMAIL:vera@example.org\r\nEND:VCARD\r\n"
    response = _upload(signed_in, card.encode(), filename="vera.vcf")
    run_id = int(response.headers["Location"].rsplit("/", 1)[1])
    page = signed_in.get(f"/imports/{run_id}").get_data(as_text=True)
    assert "vCard" in page and "Vera Card" in page and "Encoding" not in page
    signed_in.post(f"/imports/{run_id}/mapping", data={"map_name": "0", "map_email": "1", "map_phone": "2",
                                                       "map_organization": "3", "action": "run"})
    assert db.session.scalar(select(Contact).where(Contact.email == "vera@example.org")).name == "Vera Card"


def test_contract_export_follows_the_contract_filters(signed_in, make_organization):
    from datetime import date

    from helpdesk.contracts.models import ServiceContract, TrackingUnit

    acme = make_organization(name="Acme")
    db.session.add_all([
        ServiceContract(name="Acme hours", organization_id=acme.id, start_date=date(2026, 1, 1), end_date=date(2026, 12, 31),
                        tracking_unit=TrackingUnit.HOURS, total_units=40),
        ServiceContract(name="Acme incidents", organization_id=acme.id, start_date=date(2026, 1, 1),
                        end_date=date(2026, 12, 31), tracking_unit=TrackingUnit.INCIDENTS, total_units=10),
    ])
    db.session.flush()
    assert "/exports/contracts.csv" in signed_in.get("/contracts").get_data(as_text=True)
    rows = _csv(signed_in.get("/exports/contracts.csv?unit=hours"))
    assert rows[0][:3] == ["Name", "Contact", "Organization"]
    assert [r[0] for r in rows[1:]] == ["Acme hours"] and rows[1][2] == "Acme" and rows[1][5] == "Hours"
