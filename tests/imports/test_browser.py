"""A CSV import in the browser, against a real Redis and a real rq worker: upload, column
mapping, preview, run, the progress bar polling, the result report."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from helpdesk import create_app
from helpdesk.extensions import db
from helpdesk.people.models import Contact
from helpdesk.people.services import create_user
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PASSWORD, sign_in
from tests.conftest import app_config
from tests.services import redis_server

pytestmark = [pytest.mark.browser, pytest.mark.services]

ROOT = Path(__file__).resolve().parents[2]
RQ = str(Path(sys.executable).parent / "rq")
SHOTS = os.environ.get("HELPDESK_SCREENSHOTS")  # a folder: save screenshots of the pages there


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def redis_url(tmp_path):
    with redis_server(tmp_path / "redis") as url:
        yield url


@pytest.fixture
def queued_app(tmp_path, redis_url):
    """Its own SQLite file and Redis: the import job waits on the queue for a worker process."""
    app = create_app(app_config(tmp_path, f"sqlite:///{tmp_path / 'live.db'}", WTF_CSRF_ENABLED=True,
                                REDIS_URL=redis_url))
    with app.app_context():
        db.create_all()
        create_user(None, email="mona@staff.example", name="Mona Manager", password=PASSWORD, role="manager")
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def server(queued_app):
    httpd = make_server("127.0.0.1", 0, queued_app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(5)


def run_worker(app) -> None:
    """`rq worker --burst`: works through the default queue and exits."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env.update(HELPDESK_ENV="testing", HELPDESK_SECRET_KEY="test-secret",
               HELPDESK_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], HELPDESK_REDIS_URL=app.config["REDIS_URL"],
               HELPDESK_INSTANCE_PATH=app.instance_path, HELPDESK_ATTACHMENT_DIR=app.config["ATTACHMENT_DIR"],
               HELPDESK_OUTBOX_DIR=app.config["OUTBOX_DIR"], HELPDESK_EDGE_PACKAGES=",")
    result = subprocess.run([RQ, "worker", "--burst", "--worker-class", "helpdesk.jobs.Worker", "--url",
                             app.config["REDIS_URL"], "default"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def shoot(page, name: str) -> None:
    if not SHOTS:
        return
    for width in (1280, 360):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(Path(SHOTS) / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_csv_import_with_mapping_preview_progress_and_report(page, server, queued_app, tmp_path):
    # Fourteen people in seven firms (names unlike each other: similar names in one firm are
    # duplicates), then customers without a firm.
    staff = ["Anna Schmidt", "Bernd Ocker", "Clara Vogel", "Dieter Huber", "Emma Roth", "Felix Zander", "Greta Lang",
             "Hans Kühn", "Ida Brandt", "Jonas Weber", "Karla Fuchs", "Lutz Meier", "Mia Sommer", "Nils Ebert"]
    lines = ["Full name;E-mail;Firma;Telefon"]
    lines += [f"{staff[i] if i < 14 else f'Kundin {i:04d} Müller'};kundin{i}@example.org;{f'Firma {i % 7}' if i < 14 else ''};"
              f"+49 30 {1000000 + i}" for i in range(1500)]
    lines[10] = ";nobody@example.org;Firma 1;"  # line 11: no name
    lines[20] = "Doppelt;kundin5@example.org;;"  # line 21: the same email as line 7
    csv_file = tmp_path / "kunden.csv"
    csv_file.write_bytes(("\n".join(lines) + "\n").encode("cp1252"))

    sign_in(page, server, "mona@staff.example")
    page.goto(f"{server}/imports")
    page.get_by_label("The file holds").select_option("contact")
    page.get_by_label("CSV or vCard file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Upload and map columns").click()

    # Mapping: names and emails are guessed; the organization column is German, so map it by hand.
    expect(page.get_by_role("heading", name="2. Map the columns of kunden.csv")).to_be_visible()
    expect(page.get_by_label("Encoding")).to_have_value("cp1252")
    expect(page.locator("#map_name")).to_have_value("0")
    expect(page.locator("#map_organization")).to_have_value("")
    page.locator("#map_organization").select_option(label="Firma (column 3)")
    page.locator("#map_phone").select_option(label="Telefon (column 4)")
    page.get_by_role("button", name="Update preview").click()

    preview = page.locator("table.import-preview")
    expect(preview.locator("tbody tr").first).to_contain_text("Anna Schmidt")
    expect(preview.locator("tbody tr").first).to_contain_text("Firma 0")
    expect(preview.locator("tr", has_text="nobody@example.org")).to_contain_text("Name is empty.")
    expect(preview.locator("tr", has_text="Doppelt")).to_contain_text("line 7 has the same email")
    shoot(page, "import-mapping")

    page.get_by_role("button", name="Run import").click()

    # No worker yet: the job waits in Redis and the page says so, polling.
    bar = page.get_by_role("progressbar", name="Import progress")
    expect(bar).to_be_visible()
    expect(page.locator(".import-status")).to_have_text("Queued")
    run_worker(queued_app)
    # The page was not reloaded: htmx polled the run until it finished.
    expect(page.locator(".import-status")).to_have_text("Done", timeout=15_000)
    expect(bar).to_have_attribute("aria-valuenow", "100")
    report = page.locator(".import-report")
    expect(report.locator(".imported-count")).to_have_text("1498")
    expect(report.locator(".error-count")).to_have_text("2")
    expect(report.locator("table.import-errors tr", has_text="Name is empty.")).to_contain_text("11")
    expect(report).to_contain_text("7 new organization(s) created")
    shoot(page, "import-report")

    with queued_app.app_context():
        ann = db.session.scalar(db.select(Contact).where(Contact.email == "kundin1@example.org"))
        assert ann.name == "Bernd Ocker" and ann.organization.name == "Firma 1" and ann.phone == "+49 30 1000001"
        assert db.session.scalar(db.select(Contact).where(Contact.email == "kundin999@example.org")).name == "Kundin 0999 Müller"
