"""`flask db upgrade` builds exactly the schema the models describe, on SQLite and PostgreSQL."""
from __future__ import annotations

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from helpdesk import create_app
from helpdesk.extensions import db
from tests.conftest import TEST_DB, app_config


@pytest.fixture
def empty_database_url(database_url, tmp_path):
    if TEST_DB == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    name = f"migrate_{uuid.uuid4().hex[:8]}"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def _diff(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_upgrade_builds_the_models_schema_and_downgrade_removes_it(empty_database_url, tmp_path):
    app = create_app(app_config(tmp_path, empty_database_url, EDGE_PACKAGES=["mailroom", "knowledge_base", "portal"]))
    with app.app_context():
        upgrade()
        assert _diff(app) == []
        assert {"cases", "messages", "activities", "users", "outbound_emails", "inbound_emails", "sla_policies",
                "assets", "service_contracts", "time_logs", "kb_articles", "ratings", "chat_sessions",
                "recycle_entries", "notifications"} <= set(inspect(db.engine).get_table_names())
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()


def test_upgrading_a_database_with_customers_keeps_them_and_fills_the_new_columns(empty_database_url, tmp_path):
    from helpdesk.people.models import name_key, phone_key

    app = create_app(app_config(tmp_path, empty_database_url, EDGE_PACKAGES=["mailroom", "knowledge_base", "portal"]))
    with app.app_context():
        upgrade(revision="0001")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO organizations (name, created_at) VALUES ('Acme', CURRENT_TIMESTAMP)"))
            conn.execute(text("INSERT INTO contacts (name, email, phone, organization_id, created_at) "
                              "VALUES ('Zoë  Müller', 'zoe@acme.example', '+39 06 1234 5678', 1, CURRENT_TIMESTAMP)"))
        upgrade()
        with db.engine.connect() as conn:
            row = conn.execute(text("SELECT name_key, phone_key, portal_enabled, portal_role, notify_case_updates, notes "
                                    "FROM contacts")).one()
            org_notes = conn.execute(text("SELECT notes FROM organizations")).scalar_one()
        assert (row.name_key, row.phone_key) == (name_key("Zoë  Müller"), phone_key("+39 06 1234 5678"))
        assert row.name_key and row.phone_key
        assert (bool(row.portal_enabled), row.portal_role, bool(row.notify_case_updates), row.notes, org_notes) == \
            (False, "member", True, "", "")
        downgrade(revision="base")
        db.engine.dispose()
