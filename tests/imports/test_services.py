import codecs
import io
from datetime import date

import pytest
from sqlalchemy import func, select

from helpdesk.assets.models import Asset, Product
from helpdesk.cases.models import Case, Priority
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.imports import services
from helpdesk.imports.models import ImportStatus
from helpdesk.people.models import Contact, Organization
from tests.imports.conftest import errors_by_line


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _contact(email):
    return db.session.scalar(select(Contact).where(Contact.email == email))


CONTACTS = """Name,Email,Phone,Company
Ann Lee,ann@acme.example,+44 20 7946 0001,Acme
Bob Stone,bob@acme.example,,Acme
Cleo Park,cleo@solo.example,555-0100,
"""


def test_contacts_import_with_new_organizations(run_file):
    run = run_file("contact", CONTACTS)
    assert run.status == ImportStatus.DONE and run.imported_rows == 3 and run.error_count == 0
    assert run.total_rows == run.processed_rows == 3 and run.percent == 100
    ann = _contact("ann@acme.example")
    assert ann.name == "Ann Lee" and ann.organization.name == "Acme" and ann.phone == "+44 20 7946 0001"
    assert ann.name_key and ann.phone_key == "079460001"  # kept for duplicate detection
    assert _contact("bob@acme.example").organization_id == ann.organization_id
    assert _contact("cleo@solo.example").organization is None
    assert _count(Organization, Organization.name == "Acme") == 1
    assert "1 new organization" in run.notes


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "cp1252", "latin-1"])
def test_encodings_are_detected(run_file, encoding):
    text = "Name;Email\nZoë Müller;zoe@example.org\nJosé Núñez;jose@example.org\n"
    data = text.encode(encoding) if encoding != "utf-8-sig" else codecs.BOM_UTF8 + text.encode("utf-8")
    run = run_file("contact", data)
    assert run.imported_rows == 2, run.errors
    assert _contact("zoe@example.org").name == "Zoë Müller" and _contact("jose@example.org").name == "José Núñez"


def test_wrong_encoding_is_reported_row_by_row(run_file):
    data = "Name,Email\nPlain Ann,ann@example.org\nCaf\xe9 Owner,cafe@example.org\nPlain Bob,bob@example.org\n".encode("cp1252")
    run = run_file("contact", data, encoding="utf-8")
    assert run.imported_rows == 2 and run.error_count == 1
    assert "0xE9 are not valid UTF-8" in errors_by_line(run)[3]
    assert _contact("cafe@example.org") is None and _contact("bob@example.org") is not None


def test_missing_required_column_refuses_to_run(manager):
    run = services.start_import(manager, kind="contact", filename="x.csv", stream=io.BytesIO(b"Email,Phone\na@x.org,1\n"))
    assert run.mapping["name"] is None
    with pytest.raises(ValidationFailed) as err:
        services.queue_import(manager, run)
    assert "Name" in err.value.errors["map_name"] and run.status == ImportStatus.MAPPING
    assert _count(Contact) == 0


def test_required_value_missing_and_ragged_rows(run_file):
    run = run_file("contact", "Name,Email\n,nobody@example.org\nShort Row\nGood One,good@example.org,extra,cells\n")
    assert run.imported_rows == 2 and errors_by_line(run) == {2: "Name is empty."}
    assert _contact("good@example.org").name == "Good One"


def test_duplicate_contacts_are_reported_with_what_they_duplicate(run_file, make_organization, make_contact):
    acme = make_organization(name="Acme")
    existing = make_contact(name="Ann Lee", email="ann@acme.example", phone="020 7946 0001", organization=acme)
    run = run_file("contact", """Name,Email,Phone,Organization
Ann Other,ann@acme.example,,
Phone Twin,twin@example.org,+44 20 7946 0001,
Lee Ann,lee@example.org,,Acme
New Person,new@example.org,,
New Again,NEW@example.org,,
""")
    errors = errors_by_line(run)
    assert f"contact #{existing.id} Ann Lee has the same email" in errors[2]
    assert "same phone" in errors[3]
    assert "similar name (Ann Lee) in Acme" in errors[4]
    assert "line 5 has the same email new@example.org" in errors[6]
    assert run.imported_rows == 1 and _count(Contact) == 2


def test_all_or_nothing_imports_nothing_when_a_row_is_bad(run_file):
    run = run_file("contact", "Name,Email\nAnn,ann@example.org\nBad,not-an-email\nCleo,cleo@example.org\n",
                   all_or_nothing=True)
    assert run.status == ImportStatus.FAILED and run.imported_rows == 0
    assert "Nothing was imported" in run.message and "not an email address" in errors_by_line(run)[3]
    assert _count(Contact) == 0


def test_all_or_nothing_imports_everything_when_every_row_is_good(run_file):
    run = run_file("contact", "Name,Email\nAnn,ann@example.org\nCleo,cleo@example.org\n", all_or_nothing=True)
    assert run.status == ImportStatus.DONE and run.imported_rows == 2 and _count(Contact) == 2


def test_malformed_csv_fails_whole_with_its_line_and_writes_nothing(run_file):
    run = run_file("contact", 'Name,Email\nAnn,ann@example.org\n"Bob,bob@example.org\nCleo,cleo@example.org\n')
    assert run.status == ImportStatus.FAILED and "not valid CSV" in run.message
    assert run.errors and run.errors[0]["line"] >= 3
    assert _count(Contact) == 0


@pytest.fixture
def printer(app):
    from helpdesk.assets.services import save_product

    return save_product(None, None, name="Printer 200", code="PRN-200")


def test_assets_bad_dates_and_duplicate_serials_row_by_row(run_file, printer, make_contact):
    from helpdesk.assets.services import save_asset

    owner = make_contact(email="owner@example.org")
    save_asset(None, None, {"serial_number": "SN-OLD", "product_id": str(printer.id)})
    run = run_file("asset", f"""Serial number,Product,Contact email,Date sold,Warranty end,Status
SN-1,PRN-200,owner@example.org,2024-01-15,2026-01-15,In service
SN-2,Printer 200,,2024-02-30,,
sn-1,PRN-200,,,,
SN-OLD,PRN-200,,,,
SN-3,NOPE,,,,
SN-4,PRN-200,,2024-05-01,2023-01-01,
SN-5,PRN-200,,31/12/2024,,
SN-6,PRN-200,nobody@example.org,,,
SN-7,PRN-200,,,,Broken
SN-8,PRN-200,,,,in repair
""")
    errors = errors_by_line(run)
    assert "Date sold: '2024-02-30' is not a date" in errors[3]
    assert "Duplicate serial number SN-1: line 2 already has it" in errors[4]
    assert "Duplicate serial number SN-OLD: asset #" in errors[5]
    assert "No product with the code or name NOPE" in errors[6]
    assert "before the date sold" in errors[7]
    assert "'31/12/2024' is not a date" in errors[8]
    assert "No contact with the email nobody@example.org" in errors[9]
    assert "Status 'Broken' is not one of" in errors[10]
    assert run.imported_rows == 2 and run.error_count == 8
    sn1 = db.session.scalar(select(Asset).where(Asset.serial_number == "SN-1"))
    assert sn1.contact_id == owner.id and sn1.date_sold == date(2024, 1, 15) and sn1.warranty_end == date(2026, 1, 15)
    assert db.session.scalar(select(Asset).where(Asset.serial_number == "SN-8")).status.value == "in_repair"
    assert _count(Asset) == 3


def test_products_and_organizations_duplicates(run_file, printer, make_organization):
    make_organization(name="Acme")
    run = run_file("product", "Name,Code,Category\nLaser,LSR-1,Printers\nCopy,prn-200,\nAgain,LSR-1,\n")
    assert run.imported_rows == 1 and set(errors_by_line(run)) == {3, 4}
    assert _count(Product) == 2
    run = run_file("organization", "Name,Domain\nacme,acme.example\nGlobex,globex.example\nglobex,\n")
    assert run.imported_rows == 1 and "already exists" in errors_by_line(run)[2] and "line 3" in errors_by_line(run)[4]
    assert db.session.scalar(select(Organization).where(Organization.name == "Globex")).domain == "globex.example"


def test_cases_import_through_the_case_service(run_file, manager):
    run = run_file("case", """Subject,Description,Email,Customer,Priority,Tags
Printer jammed,It shows E-42,pat@example.org,Pat Doe,High,"printer, floor-3"
No body,,pat@example.org,,,
Bad priority,Something,pat@example.org,,Critical,
""")
    assert run.imported_rows == 1
    assert errors_by_line(run)[3] == "Description is empty." and "Priority 'Critical'" in errors_by_line(run)[4]
    case = db.session.scalar(select(Case).where(Case.subject == "Printer jammed"))
    assert case.number and case.priority == Priority.HIGH and case.contact.name == "Pat Doe"
    assert sorted(t.name for t in case.tags) == ["floor-3", "printer"]


def test_rerunning_a_finished_import_changes_nothing(run_file):
    run = run_file("contact", CONTACTS)
    services.execute(run)
    db.session.commit()
    assert _count(Contact) == 3 and run.imported_rows == 3


VCARDS = """BEGIN:VCARD\r
VERSION:3.0\r
N:Lee;Ann;;;\r
FN:Ann Lee\r
EMAIL;TYPE=INTERNET:ann@v3.example\r
TEL;TYPE=WORK:+1 555 0101\r
ORG:Acme;Sales\r
END:VCARD\r
BEGIN:VCARD\r
VERSION:4.0\r
FN:Zoë Müller\r
EMAIL;TYPE=work:zoe@v4.example\r
TEL;VALUE=uri;TYPE="voice,work":tel:+49-30-1234567\r
END:VCARD\r
BEGIN:VCARD\r
VERSION:4.0\r
FN;broken\r
END:VCARD\r
"""


def test_vcard_3_and_4_import(run_file):
    run = run_file("contact", VCARDS, filename="people.vcf")
    assert run.format == "vcard" and run.imported_rows == 2
    assert errors_by_line(run)[15] == "Not a valid vCard (Failed to parse line: FN;broken)."
    ann = _contact("ann@v3.example")
    assert ann.name == "Ann Lee" and ann.phone == "+1 555 0101" and ann.organization.name == "Acme"
    assert _contact("zoe@v4.example").name == "Zoë Müller" and _contact("zoe@v4.example").phone == "+49-30-1234567"


def test_vcard_file_must_be_imported_as_contacts(manager):
    with pytest.raises(ValidationFailed) as err:
        services.start_import(manager, kind="asset", filename="x.vcf", stream=io.BytesIO(VCARDS.encode()))
    assert "kind" in err.value.errors


def test_empty_file_is_refused(manager):
    with pytest.raises(ValidationFailed, match="empty"):
        services.start_import(manager, kind="contact", filename="x.csv", stream=io.BytesIO(b"  \n"))


def test_preview_shows_rows_as_imported_with_their_problems(manager, make_contact):
    make_contact(email="taken@example.org")
    run = services.start_import(manager, kind="contact", filename="x.csv",
                                stream=io.BytesIO(b"Name,Email\nAnn,ann@example.org\nTom,taken@example.org\n,x@y.org\n"))
    rows, file_error = services.preview(run)
    assert file_error is None
    assert [(r.line, r.values["name"], r.error) for r in rows][0] == (2, "Ann", None)
    assert "same email" in rows[1].error and rows[2].error == "Name is empty."
    assert _count(Contact) == 1  # the preview writes nothing


def test_a_clash_the_checks_missed_is_reported_and_the_rest_of_the_batch_still_imports(run_file, printer, monkeypatch):
    """As if another process registered SN-2 between the check and the write: the database's
    unique constraint refuses the batch, which is then written row by row."""
    from helpdesk.assets.services import save_asset
    from helpdesk.imports.services import AssetImporter

    save_asset(None, None, {"serial_number": "SN-2", "product_id": str(printer.id)})
    original = AssetImporter.prepare

    def blind_prepare(self, rows):
        original(self, rows)
        self.serials.pop("SN-2", None)  # the check does not see the existing asset

    monkeypatch.setattr(AssetImporter, "prepare", blind_prepare)
    run = run_file("asset", "Serial number,Product\nSN-1,PRN-200\nSN-2,PRN-200\nSN-3,PRN-200\n")

    assert run.status == ImportStatus.DONE and run.imported_rows == 2
    assert "clashes with a record written while the file was being imported" in errors_by_line(run)[3]
    assert sorted(db.session.scalars(select(Asset.serial_number))) == ["SN-1", "SN-2", "SN-3"]


def test_cases_import_links_products_and_assets(run_file, printer):
    from helpdesk.assets.services import save_asset

    asset = save_asset(None, None, {"serial_number": "SN-9", "product_id": str(printer.id)})
    run = run_file("case", """Subject,Description,Product,Serial
Toner low,Please send toner,PRN-200,
Paper jam,Tray 2,,sn-9
Unknown,Something,NOPE,
Ghost,Something,,SN-404
""")
    assert run.imported_rows == 2
    assert "No product with the code or name NOPE" in errors_by_line(run)[4]
    assert "No asset with the serial number SN-404" in errors_by_line(run)[5]
    toner = db.session.scalar(select(Case).where(Case.subject == "Toner low"))
    jam = db.session.scalar(select(Case).where(Case.subject == "Paper jam"))
    assert toner.product_id == printer.id and toner.asset_id is None
    assert jam.asset_id == asset.id and jam.product_id == printer.id  # the asset's product
