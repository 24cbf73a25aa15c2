"""Engine settings per database: SQLite gets real transactions, WAL and foreign keys."""
from __future__ import annotations

import functools
import random
import time

from flask import request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from helpdesk.extensions import db


IMMEDIATE = "helpdesk_sqlite_begin_immediate"  # a connection execution option


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, record):
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin, so
        # SAVEPOINT and rollback behave as on PostgreSQL.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB a connection, not 2
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        # A writer that asks for it takes the write lock up front (see retry_when_busy).
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(IMMEDIATE) else "BEGIN")


def retry_when_busy(view, attempts: int = 6):
    """A writing view on SQLite that many requests run at once (chat messages): its transaction
    takes the write lock first (BEGIN IMMEDIATE, so it waits its turn under the busy timeout),
    and it runs again should SQLite still say "database is locked".

    Without this, in WAL mode a transaction that began by reading cannot write once another
    connection has committed since (SQLITE_BUSY_SNAPSHOT): SQLite fails at once, whatever the
    busy timeout. PostgreSQL needs neither.
    """
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        for attempt in range(attempts):
            bind = db.session.get_bind()
            if isinstance(bind, Engine) and bind.dialect.name == "sqlite":
                db.session.rollback()  # what before_request read began a plain transaction
                db.session.connection(execution_options={IMMEDIATE: True})
            try:
                return view(*args, **kwargs)
            except OperationalError as exc:
                if "database is locked" not in str(exc) or attempt == attempts - 1:
                    raise
                db.session.rollback()
                for upload in request.files.values():
                    upload.stream.seek(0)
                time.sleep(random.uniform(0.002, 0.01) * (attempt + 1))
        raise AssertionError("unreachable")

    return wrapped
