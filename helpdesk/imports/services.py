"""State changes of imports: take an upload, map its columns, run it row by row in batches.

Every importer checks a batch of rows against the database with a few indexed lookups
(never one query per row), reports each bad row with its line and reason, and writes the
good ones with one multi-row INSERT per batch. Partial runs commit batch by batch (data and
progress together, so a rerun resumes after the last commit); all-or-nothing runs check
every row first and then write everything in one transaction, or nothing.
"""
from __future__ import annotations

import abc
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from helpdesk.cases.attachments import blob_path, clean_filename, store_blob
from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.imports import policies, vcard
from helpdesk.imports.models import ImportRun, ImportStatus
from helpdesk.people.models import Contact, Organization, User, name_key, phone_key
from helpdesk.people.services import EMAIL_RE, NAME_SIMILARITY, normalize_email, similar_names
from helpdesk.types import utcnow

BATCH = 1000
PREVIEW_ROWS = 20
MAX_UPLOAD_MB = 100


@dataclass
class Row:
    line: int
    values: dict[str, str]
    bad_bytes: str | None = None


class RowError(Exception):
    """This row cannot be imported; the message says why."""


# --- upload and mapping --------------------------------------------------------------------


def start_import(actor: User, *, kind: str, filename: str, stream: BinaryIO) -> ImportRun:
    """Store the uploaded file and read its header; the run then waits for its column mapping."""
    errors = {}
    if kind not in policies.FIELDS:
        errors["kind"] = "Choose what the file holds."
    try:
        name = clean_filename(filename)
    except ValidationFailed:
        errors["file"] = "Choose a file to import."
        name = ""
    if errors:
        raise ValidationFailed(errors)
    blob = store_blob(current_app.config["ATTACHMENT_DIR"], stream, MAX_UPLOAD_MB * 1024 * 1024, field="file")
    data = _read_blob(blob.sha256)
    if not data.strip():
        raise ValidationFailed({"file": "The file is empty."})
    run = ImportRun(kind=kind, filename=name, blob_sha256=blob.sha256, user_id=actor.id if actor else None)
    if vcard.looks_like_vcard(name, data):
        if kind != "contact":
            raise ValidationFailed({"kind": "A vCard file holds contacts: choose Contacts."})
        run.format, run.encoding, run.detected_encoding = "vcard", "utf-8", policies.detect_encoding(data)
        run.encoding = run.detected_encoding
        run.header = list(vcard.COLUMNS)
        run.mapping = {f.key: i for i, f in enumerate(policies.FIELDS["contact"])}
    else:
        run.detected_encoding = run.encoding = policies.detect_encoding(data)
        _read_header(run, data)
        run.mapping = policies.guess_mapping(kind, run.header)
    db.session.add(run)
    db.session.flush()
    return run


def _read_header(run: ImportRun, data: bytes) -> None:
    try:
        text = policies.decode(data, run.encoding)
    except policies.FileError as exc:
        raise ValidationFailed({"encoding": exc.reason}) from None
    run.delimiter = policies.sniff_delimiter(text)
    try:
        first = next(policies.records(text, run.delimiter), None)
    except policies.FileError as exc:
        raise ValidationFailed({"file": exc.reason}) from None
    if first is None:
        raise ValidationFailed({"file": "The file has no rows."})
    run.header = [h.strip() or f"Column {i + 1}" for i, h in enumerate(first[1])]


def set_mapping(actor: User, run: ImportRun, *, mapping: dict[str, str], encoding: str | None = None,
                delimiter: str | None = None, all_or_nothing: bool = False) -> ImportRun:
    """Choose which column feeds which field (and how to read the file); checked before saving."""
    _require_status(run, ImportStatus.MAPPING)
    errors = {}
    if run.format == "csv":
        if encoding and encoding != run.encoding:
            if encoding not in policies.ENCODINGS:
                errors["encoding"] = "Choose one of the listed encodings."
            else:
                run.encoding = encoding
                try:
                    _read_header(run, _read_blob(run.blob_sha256))
                except ValidationFailed as exc:
                    errors.update(exc.errors)
        if delimiter and delimiter in policies.DELIMITERS and delimiter != run.delimiter:
            run.delimiter = delimiter
            _read_header(run, _read_blob(run.blob_sha256))
        chosen = {}
        for f in policies.FIELDS[run.kind]:
            raw = (mapping.get(f.key) or "").strip()
            if raw == "":
                chosen[f.key] = None
            elif raw.isdigit() and int(raw) < len(run.header):
                chosen[f.key] = int(raw)
            else:
                errors[f"map_{f.key}"] = "Choose one of the file's columns."
        used = [i for i in chosen.values() if i is not None]
        for key, i in chosen.items():
            if i is not None and used.count(i) > 1:
                errors[f"map_{key}"] = f"Column “{run.header[i]}” is chosen for more than one field."
        if not errors:
            run.mapping = chosen
    run.all_or_nothing = bool(all_or_nothing)
    if errors:
        raise ValidationFailed(errors)
    db.session.flush()
    return run


def check_ready(run: ImportRun) -> None:
    """Refuse to run when a required field has no column (the file lacks it, or it is unmapped)."""
    missing = policies.missing_required(run.kind, run.mapping)
    if missing:
        raise ValidationFailed({f"map_{f.key}": f"{f.label} is required: choose the column that holds it." for f in missing},
                               "Required columns are missing: " + ", ".join(f.label for f in missing) + ".")


def queue_import(actor: User, run: ImportRun) -> ImportRun:
    """Mark the run queued and enqueue its job (after the caller's commit)."""
    from helpdesk import jobs
    from helpdesk.imports.jobs import run_import

    _require_status(run, ImportStatus.MAPPING)
    check_ready(run)
    run.status = ImportStatus.QUEUED
    db.session.flush()
    jobs.enqueue(run_import, run.id)
    return run


def _require_status(run: ImportRun, status: ImportStatus) -> None:
    if run.status != status:
        raise ValidationFailed({"run": f"This import is {run.status.label.lower()}; it cannot be changed now."})


def _read_blob(sha: str) -> bytes:
    return Path(blob_path(current_app.config["ATTACHMENT_DIR"], sha)).read_bytes()


# --- reading rows --------------------------------------------------------------------------


def iter_rows(run: ImportRun, data: bytes | None = None) -> Iterator[Row]:
    """The file's data rows with their line numbers, as mapped field values."""
    data = _read_blob(run.blob_sha256) if data is None else data
    if run.format == "vcard":
        for line, values, problem in vcard.parse(policies.decode(data, run.encoding)):
            row = Row(line, values)
            if problem:
                row.bad_bytes = problem
            yield row
        return
    text = policies.decode(data, run.encoding)
    clean = policies.undecodable(text) is None  # then no cell needs looking at
    recs = policies.records(text, run.delimiter)
    next(recs, None)  # the header
    for line, cells in recs:
        bad = None if clean else next((b for c in cells if (b := policies.undecodable(c))), None)
        yield Row(line, policies.row_values(run.kind, run.mapping, cells),
                  f"bytes {bad} are not valid {policies.ENCODINGS.get(run.encoding, run.encoding)}; "
                  "is the file in another encoding?" if bad else None)


def count_rows(run: ImportRun, data: bytes) -> int:
    if run.format == "vcard":
        return sum(1 for _ in iter_rows(run, data))
    return max(sum(1 for _ in policies.records(policies.decode(data, run.encoding), run.delimiter)) - 1, 0)


@dataclass
class PreviewRow:
    line: int
    values: dict[str, str]
    error: str | None


def preview(run: ImportRun, limit: int = PREVIEW_ROWS) -> tuple[list[PreviewRow], str | None]:
    """The first rows as they would be imported, each with its problem; and a file-level problem."""
    rows = []
    try:
        for row in iter_rows(run):
            rows.append(row)
            if len(rows) >= limit:
                break
    except policies.FileError as exc:
        return [PreviewRow(r.line, r.values, None) for r in rows], exc.reason
    importer = IMPORTERS[run.kind](None, write=False)
    checked = importer.check_batch(rows)
    return [PreviewRow(r.line, r.values, err) for r, _, err in checked], None


# --- running -------------------------------------------------------------------------------


def execute(run: ImportRun) -> ImportRun:
    """The job's work: import the run's rows, committing as it goes. Safe to call again."""
    if run.status.finished or run.status == ImportStatus.MAPPING:
        return run
    try:
        data = _read_blob(run.blob_sha256)
        if run.status == ImportStatus.QUEUED or run.all_or_nothing:
            run.total_rows = count_rows(run, data)
            run.processed_rows = run.imported_rows = run.error_count = 0
            run.errors, run.notes = [], ""
        run.status, run.started_at = ImportStatus.RUNNING, run.started_at or utcnow()
        db.session.commit()
        if run.all_or_nothing:
            _run_all_or_nothing(run, data)
        else:
            _run_partial(run, data)
    except policies.FileError as exc:
        db.session.rollback()
        run = db.session.get(ImportRun, run.id)
        _finish(run, ImportStatus.FAILED if not run.imported_rows else ImportStatus.DONE,
                exc.reason + (" Rows before it were imported." if run.imported_rows else " Nothing was imported."))
        if exc.line:
            _add_errors(run, [(exc.line, exc.reason)])
        db.session.commit()
    return run


def _run_partial(run: ImportRun, data: bytes) -> None:
    importer = IMPORTERS[run.kind](_actor(run), write=True)
    skip = run.processed_rows  # rows a previous attempt committed
    for batch in _batches(iter_rows(run, data), skip):
        checked = importer.check_batch(batch)
        good = [(row, values) for row, values, err in checked if err is None]
        bad = [(row.line, err) for row, _, err in checked if err is not None]
        try:
            importer.save(good)
            db.session.flush()
        except IntegrityError:
            # Someone wrote a clashing record meanwhile: save the batch row by row.
            db.session.rollback()
            run = db.session.get(ImportRun, run.id)
            importer = IMPORTERS[run.kind](_actor(run), write=True)
            good, more_bad = importer.save_one_by_one(good)
            bad += more_bad
        run.imported_rows += len(good)
        run.processed_rows += len(batch)
        _add_errors(run, bad)
        run.notes = importer.notes()
        db.session.commit()
    _finish(run, ImportStatus.DONE)
    db.session.commit()


def _run_all_or_nothing(run: ImportRun, data: bytes) -> None:
    checker = IMPORTERS[run.kind](_actor(run), write=False)
    for batch in _batches(iter_rows(run, data)):
        checked = checker.check_batch(batch)
        _add_errors(run, [(row.line, err) for row, _, err in checked if err is not None])
        run.processed_rows += len(batch)
        db.session.commit()
    if run.error_count:
        _finish(run, ImportStatus.FAILED, f"Nothing was imported: {run.error_count} row(s) have problems. "
                                          "Correct them (or import the good rows only) and try again.")
        db.session.commit()
        return
    importer = IMPORTERS[run.kind](_actor(run), write=True)
    imported = 0
    try:
        for batch in _batches(iter_rows(run, data)):
            checked = importer.check_batch(batch)
            bad = [(row.line, err) for row, _, err in checked if err is not None]
            if bad:
                raise _Abort(bad)
            good = [(row, values) for row, values, _ in checked]
            importer.save(good)
            db.session.flush()
            imported += len(good)
    except (_Abort, IntegrityError) as exc:
        db.session.rollback()
        run = db.session.get(ImportRun, run.id)
        if isinstance(exc, _Abort):
            _add_errors(run, exc.rows)
        _finish(run, ImportStatus.FAILED, "Nothing was imported: the data changed while the file was being "
                                          "imported. Try again.")
        db.session.commit()
        return
    run.imported_rows = imported
    run.notes = importer.notes()
    _finish(run, ImportStatus.DONE)
    db.session.commit()


class _Abort(Exception):
    def __init__(self, rows):
        super().__init__("rows failed")
        self.rows = rows


def _batches(rows: Iterator[Row], skip: int = 0) -> Iterator[list[Row]]:
    batch = []
    for i, row in enumerate(rows):
        if i < skip:
            continue
        batch.append(row)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _add_errors(run: ImportRun, rows: list[tuple[int, str]]) -> None:
    if not rows:
        return
    run.error_count += len(rows)
    room = policies.MAX_STORED_ERRORS - len(run.errors or [])
    if room > 0:
        run.errors = list(run.errors or []) + [{"line": line, "reason": reason} for line, reason in rows[:room]]


def _finish(run: ImportRun, status: ImportStatus, message: str = "") -> None:
    run.status, run.finished_at = status, utcnow()
    if message:
        run.message = message
    if status == ImportStatus.DONE:
        run.processed_rows = run.total_rows = max(run.total_rows, run.processed_rows)


def _actor(run: ImportRun) -> User | None:
    return db.session.get(User, run.user_id) if run.user_id else None


def get_run(run_id: int) -> ImportRun:
    run = db.session.get(ImportRun, run_id)
    if run is None:
        raise NotFound(f"No import {run_id}.")
    return run


# --- importers -----------------------------------------------------------------------------


class Importer(abc.ABC):
    """Checks and writes one kind of record. check_batch looks the batch up in bulk, then
    checks each row; rows that pass are remembered, so a later row repeating them (in the
    same file) is reported as a duplicate of that line."""

    model = None

    def __init__(self, actor: User | None, write: bool):
        self.actor, self.write = actor, write

    def check_batch(self, rows: list[Row]) -> list[tuple[Row, dict | None, str | None]]:
        self.prepare([r for r in rows if r.bad_bytes is None])
        out = []
        for row in rows:
            if row.bad_bytes:
                out.append((row, None, row.bad_bytes[:1].upper() + row.bad_bytes[1:] + "."))
                continue
            try:
                out.append((row, self.check(row), None))
            except RowError as exc:
                out.append((row, None, str(exc)))
        return out

    def prepare(self, rows: list[Row]) -> None:
        """Bulk lookups for the rows about to be checked."""

    @abc.abstractmethod
    def check(self, row: Row) -> dict:
        """The row's values as the model takes them; raises RowError naming what is wrong."""

    def save(self, good: list[tuple[Row, dict]]) -> None:
        if good:
            _insert_many(self.model, [values for _, values in good])

    def save_one_by_one(self, good):
        saved, bad = [], []
        for row, values in good:
            try:
                with db.session.begin_nested():
                    self.save([(row, values)])
                saved.append((row, values))
            except IntegrityError:
                bad.append((row.line, "It clashes with a record written while the file was being imported."))
        return saved, bad

    def notes(self) -> str:
        return ""


def _insert_many(model, rows: list[dict]) -> None:
    """One batch in one go, in the session's transaction, values converted by the columns' own
    types: COPY on PostgreSQL (a statement per row otherwise, even pipelined), the driver's
    executemany on SQLite (a loop in C). Both skip SQLAlchemy's per-row parameter work, which
    was most of the cost of a big import."""
    if not rows:
        return
    table = model.__table__
    connection = db.session.connection()
    dialect = connection.dialect
    if dialect.name not in ("postgresql", "sqlite"):
        db.session.execute(insert(table), rows)
        return
    columns = [c for c in table.columns if not c.primary_key and c.server_default is None]
    # Columns the rows leave out get their default, worked out once per batch (a template);
    # only the row's own columns are converted row by row.
    template, from_row = [], []
    for i, c in enumerate(columns):
        convert = c.type._cached_bind_processor(dialect)
        if c.name in rows[0] or (c.default is not None and c.default.is_callable):
            template.append(None)
            from_row.append((i, c.name, convert, _python_default(c)))
        else:
            value = _python_default(c)()
            template.append(convert(value) if convert is not None and value is not None else value)

    def values(row: dict) -> list:
        out = template.copy()
        for i, name, convert, default in from_row:
            value = row[name] if name in row else default()
            out[i] = convert(value) if convert is not None and value is not None else value
        return out

    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(c.name) for c in columns)
    raw = connection.connection.driver_connection
    try:
        if dialect.name == "postgresql":
            sql = f"COPY {quote(table.name)} ({names}) FROM STDIN"
            with raw.cursor() as cursor, cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(values(row))
        else:
            sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({', '.join('?' * len(columns))})"
            cursor = raw.cursor()
            try:
                cursor.executemany(sql, [values(row) for row in rows])
            finally:
                cursor.close()
    except dialect.loaded_dbapi.IntegrityError as exc:
        # As SQLAlchemy would have raised it, so callers handle one kind of clash.
        raise IntegrityError(sql, None, exc) from exc
    if dialect.name == "postgresql":
        _keep_statistics(connection, table, len(rows))


ANALYZE_EVERY = 10_000


def _keep_statistics(connection, table, inserted: int) -> None:
    """PostgreSQL plans the next batch's duplicate lookups (email IN (...)) from the table's
    statistics; after a few COPYs they still describe the small table of before, the planner
    picks a sequential scan and each lookup takes seconds (autovacuum's ANALYZE comes too late
    for an import). So the import refreshes them itself every ANALYZE_EVERY rows; an ANALYZE
    samples a bounded number of rows and takes milliseconds."""
    counts = db.session.info.setdefault("import_rows_since_analyze", {})
    counts[table.name] = counts.get(table.name, 0) + inserted
    if counts[table.name] >= ANALYZE_EVERY:
        connection.exec_driver_sql(f"ANALYZE {connection.dialect.identifier_preparer.quote(table.name)}")
        counts[table.name] = 0


def _python_default(column):
    """What SQLAlchemy would have filled in for a column the row leaves out."""
    default = column.default
    if default is None:
        return lambda: None
    if default.is_callable:
        return lambda: default.arg(None)
    return lambda: default.arg


def _required(row: Row, key: str, label: str, max_len: int) -> str:
    value = " ".join(row.values.get(key, "").split())
    if not value:
        raise RowError(f"{label} is empty.")
    if len(value) > max_len:
        raise RowError(f"{label} is longer than {max_len} characters.")
    return value


def _optional(row: Row, key: str, label: str, max_len: int) -> str | None:
    value = row.values.get(key, "").strip()
    if len(value) > max_len:
        raise RowError(f"{label} is longer than {max_len} characters.")
    return value or None


def _chunks(values, size: int = 500):
    values = list(values)
    for i in range(0, len(values), size):
        yield values[i:i + size]


class OrganizationLookup:
    """Organizations by lower-case name, looked up in bulk and remembered."""

    def __init__(self):
        self.by_name: dict[str, tuple[int | None, bool]] = {}  # name -> (id or None if new, in the bin)

    def load(self, names) -> None:
        wanted = {n.lower() for n in names if n and n.lower() not in self.by_name}
        for chunk in _chunks(wanted):
            for org_id, name, deleted in db.session.execute(
                    select(Organization.id, Organization.name, Organization.deleted_at)
                    .where(func.lower(Organization.name).in_(chunk)).order_by(Organization.id)):
                self.by_name.setdefault(name.lower(), (org_id, deleted is not None))


class OrganizationImporter(Importer):
    model = Organization

    def __init__(self, actor, write):
        super().__init__(actor, write)
        self.orgs = OrganizationLookup()
        self.lines: dict[str, int] = {}

    def prepare(self, rows):
        self.orgs.load(" ".join(r.values.get("name", "").split()) for r in rows)

    def check(self, row):
        name = _required(row, "name", "Name", 200)
        key = name.lower()
        if key in self.lines:
            raise RowError(f"Duplicate: line {self.lines[key]} already has the organization {name}.")
        if key in self.orgs.by_name:
            where = " (in the recycle bin)" if self.orgs.by_name[key][1] else ""
            raise RowError(f"Duplicate: an organization named {name} already exists{where}.")
        domain = (_optional(row, "domain", "Email domain", 200) or "").lower() or None
        phone = _optional(row, "phone", "Phone", 50)
        self.lines[key] = row.line
        now = utcnow()
        return {"name": name, "domain": domain, "phone": phone, "notes": "", "created_at": now, "updated_at": now}


class ContactImporter(Importer):
    """Duplicates: the same email or phone as a live contact or an earlier line, or a similar
    name in the same organization (helpdesk.people's rules, applied to whole batches)."""

    model = Contact

    def __init__(self, actor, write):
        super().__init__(actor, write)
        self.orgs = OrganizationLookup()
        self.emails: dict[str, str] = {}  # email -> who has it ("contact #4 Ann Lee" or "line 7")
        self.phones: dict[str, str] = {}
        self.names: dict[tuple[int | str, str], list[tuple[str, str]]] = {}  # (org, key prefix) -> [(name, who)]
        self.loaded_orgs: set[int] = set()
        self.new_orgs: dict[str, str] = {}  # lower name -> name, organizations this file creates

    def prepare(self, rows):
        emails = {e for r in rows if (e := normalize_email(r.values.get("email"))) and e not in self.emails}
        phones = {k for r in rows if (k := phone_key(r.values.get("phone"))) and k not in self.phones}
        # Only the looked-up column in SQL, liveness checked here: so the planner always takes
        # that column's index (right after a bulk load its statistics may favour another).
        for chunk in _chunks(emails):
            for cid, name, email, dead, merged in db.session.execute(
                    select(Contact.id, Contact.name, Contact.email, Contact.deleted_at, Contact.merged_into_id)
                    .where(Contact.email.in_(chunk))):
                if dead is None and merged is None:
                    self.emails.setdefault(email, f"contact #{cid} {name}")
        for chunk in _chunks(phones):
            for cid, name, key, dead, merged in db.session.execute(
                    select(Contact.id, Contact.name, Contact.phone_key, Contact.deleted_at, Contact.merged_into_id)
                    .where(Contact.phone_key.in_(chunk))):
                if dead is None and merged is None:
                    self.phones.setdefault(key, f"contact #{cid} {name}")
        self.orgs.load(" ".join(r.values.get("organization", "").split()) for r in rows)
        org_ids = {self.orgs.by_name[n.lower()][0] for r in rows
                   if (n := " ".join(r.values.get("organization", "").split())) and n.lower() in self.orgs.by_name}
        org_ids = {i for i in org_ids if i is not None} - self.loaded_orgs
        for chunk in _chunks(org_ids):
            for cid, name, org_id, key, dead, merged in db.session.execute(
                    select(Contact.id, Contact.name, Contact.organization_id, Contact.name_key, Contact.deleted_at,
                           Contact.merged_into_id).where(Contact.organization_id.in_(chunk))):
                if dead is None and merged is None:
                    self._remember_name(org_id, name, f"contact #{cid} {name}", key or None)
        self.loaded_orgs |= org_ids

    def _remember_name(self, org, name: str, who: str, key: str | None = None) -> None:
        key = name_key(name) if key is None else key
        self.names.setdefault((org, key[:2]), []).append((name, key, Counter(key), who))

    @staticmethod
    def _similar(name: str, key: str, letters: Counter, other: str, other_key: str, other_letters: Counter) -> bool:
        """helpdesk.people's similar_names, asked only when a cheap test says it might agree:
        the same key, one's words within the other's, or lengths and letters close enough for
        difflib's ratio to reach the threshold (both are upper bounds of it)."""
        if key == other_key:
            return True
        words, other_words = set(key.split()), set(other_key.split())
        if not (words <= other_words or other_words <= words):
            total = len(key) + len(other_key)
            if 2 * min(len(key), len(other_key)) < NAME_SIMILARITY * total:
                return False
            if 2 * sum((letters & other_letters).values()) < NAME_SIMILARITY * total:
                return False
        return similar_names(name, other)

    def check(self, row):
        name = _required(row, "name", "Name", 200)
        key = name_key(name)
        email = normalize_email(row.values.get("email"))
        if email and (len(email) > 254 or not EMAIL_RE.match(email)):
            raise RowError(f"Email {row.values.get('email')!r} is not an email address.")
        phone = _optional(row, "phone", "Phone", 50)
        pkey = phone_key(phone)
        org_name = " ".join(row.values.get("organization", "").split())
        if len(org_name) > 200:
            raise RowError("Organization is longer than 200 characters.")
        org = self.orgs.by_name.get(org_name.lower()) if org_name else None
        if org is not None and org[1]:
            raise RowError(f"The organization {org_name} is in the recycle bin; restore it first.")
        org_ref = org[0] if org is not None else (org_name.lower() if org_name else None)
        if email and email in self.emails:
            raise RowError(f"Duplicate: {self.emails[email]} has the same email {email}.")
        if pkey and pkey in self.phones:
            raise RowError(f"Duplicate: {self.phones[pkey]} has the same phone {phone}.")
        if org_ref is not None:
            letters = Counter(key)
            for other, other_key, other_letters, who in self.names.get((org_ref, key[:2]), ()):
                if self._similar(name, key, letters, other, other_key, other_letters):
                    raise RowError(f"Duplicate: {who} has a similar name ({other}) in {org_name}.")
        who = f"line {row.line}"
        if email:
            self.emails[email] = who
        if pkey:
            self.phones[pkey] = who
        if org_ref is not None:
            self._remember_name(org_ref, name, who, key)
        if org is None and org_name:
            self.new_orgs.setdefault(org_name.lower(), org_name)
        now = utcnow()
        return {"name": name, "email": email or None, "phone": phone, "name_key": key, "phone_key": pkey,
                "organization_id": org[0] if org is not None else None, "_organization": org_name.lower() or None,
                "notes": "", "created_at": now, "updated_at": now}

    def save(self, good):
        self._create_organizations({v["_organization"] for _, v in good if v["_organization"]})
        rows = []
        for _, values in good:
            values = dict(values)
            org_key = values.pop("_organization")
            if org_key and values["organization_id"] is None:
                values["organization_id"] = self.orgs.by_name[org_key][0]
            rows.append(values)
        if rows:
            _insert_many(Contact, rows)

    def _create_organizations(self, keys) -> None:
        missing = [k for k in keys if self.orgs.by_name.get(k, (None, False))[0] is None]
        if not missing:
            return
        now = utcnow()
        created = db.session.execute(
            insert(Organization).returning(Organization.id, Organization.name),
            [{"name": self.new_orgs.get(k, k), "notes": "", "created_at": now, "updated_at": now} for k in missing])
        for org_id, name in created:
            self.orgs.by_name[name.lower()] = (org_id, False)
            self.loaded_orgs.add(org_id)
            # Names remembered under the new organization's name now belong to its id.
            for (org, prefix), names in list(self.names.items()):
                if org == name.lower():
                    self.names.setdefault((org_id, prefix), []).extend(names)
        self.created_orgs = getattr(self, "created_orgs", 0) + len(missing)

    def notes(self):
        n = getattr(self, "created_orgs", 0)
        return f"{n} new organization(s) created for the contacts." if n else ""


def _product_model():
    from helpdesk.assets.models import Product

    return Product


def _asset_model():
    from helpdesk.assets.models import Asset

    return Asset


class ProductImporter(Importer):
    def __init__(self, actor, write):
        super().__init__(actor, write)
        self.model = _product_model()
        self.codes: dict[str, str] = {}

    def prepare(self, rows):
        Product = self.model
        codes = {c for r in rows if (c := " ".join(r.values.get("code", "").split()).lower()) and c not in self.codes}
        for chunk in _chunks(codes):
            for pid, code, deleted in db.session.execute(
                    select(Product.id, Product.code, Product.deleted_at).where(func.lower(Product.code).in_(chunk))):
                self.codes[code.lower()] = f"product #{pid}" + (" (in the recycle bin)" if deleted else "")

    def check(self, row):
        name = _required(row, "name", "Name", 200)
        code = _required(row, "code", "Code", 60)
        category = " ".join(row.values.get("category", "").split())
        if len(category) > 100:
            raise RowError("Category is longer than 100 characters.")
        if code.lower() in self.codes:
            raise RowError(f"Duplicate code {code}: {self.codes[code.lower()]} already has it.")
        self.codes[code.lower()] = f"line {row.line}"
        now = utcnow()
        return {"name": name, "code": code, "category": category, "created_at": now, "updated_at": now}


class AssetImporter(Importer):
    def __init__(self, actor, write):
        super().__init__(actor, write)
        from helpdesk.assets import policies as asset_policies
        from helpdesk.assets.models import AssetStatus

        self.model, self.Product = _asset_model(), _product_model()
        self.clean_serial, self.AssetStatus = asset_policies.clean_serial, AssetStatus
        self.serial_max = asset_policies.SERIAL_MAX
        self.serials: dict[str, str] = {}
        self.products: dict[str, int | None] = {}  # lower code or name -> id (None: ambiguous name)
        self.contacts: dict[str, int] = {}
        self.orgs = OrganizationLookup()

    def prepare(self, rows):
        Asset, Product = self.model, self.Product
        serials = {x for r in rows if (x := self.clean_serial(r.values.get("serial_number"))) and x not in self.serials}
        for chunk in _chunks(serials):
            for aid, serial, deleted in db.session.execute(
                    select(Asset.id, Asset.serial_number, Asset.deleted_at).where(Asset.serial_number.in_(chunk))):
                self.serials[serial] = f"asset #{aid}" + (" (in the recycle bin)" if deleted else "")
        refs = {x for r in rows if (x := r.values.get("product", "").strip().lower()) and x not in self.products}
        for chunk in _chunks(refs):
            for pid, code, name in db.session.execute(
                    select(Product.id, Product.code, Product.name).where(
                        Product.deleted_at.is_(None),
                        func.lower(Product.code).in_(chunk) | func.lower(Product.name).in_(chunk))):
                if code.lower() in chunk:
                    self.products[code.lower()] = pid
                if name.lower() in chunk and name.lower() not in self.products:
                    self.products[name.lower()] = pid
                elif name.lower() in chunk and self.products[name.lower()] != pid and code.lower() != name.lower():
                    self.products[name.lower()] = None
        emails = {e for r in rows if (e := normalize_email(r.values.get("contact"))) and e not in self.contacts}
        for chunk in _chunks(emails):
            for cid, email in db.session.execute(select(Contact.id, Contact.email).where(
                    Contact.email.in_(chunk), Contact.deleted_at.is_(None), Contact.merged_into_id.is_(None))):
                self.contacts.setdefault(email, cid)
        self.orgs.load(" ".join(r.values.get("organization", "").split()) for r in rows)

    def check(self, row):
        serial = self.clean_serial(row.values.get("serial_number"))
        if not serial:
            raise RowError("Serial number is empty.")
        if len(serial) > self.serial_max:
            raise RowError(f"Serial number is longer than {self.serial_max} characters.")
        if serial in self.serials:
            raise RowError(f"Duplicate serial number {serial}: {self.serials[serial]} already has it.")
        ref = row.values.get("product", "").strip()
        if not ref:
            raise RowError("Product is empty.")
        if ref.lower() not in self.products:
            raise RowError(f"No product with the code or name {ref}.")
        if self.products[ref.lower()] is None:
            raise RowError(f"Several products are called {ref}; use the product code.")
        contact_id = None
        email = normalize_email(row.values.get("contact"))
        if email:
            if email not in self.contacts:
                raise RowError(f"No contact with the email {email}.")
            contact_id = self.contacts[email]
        org_id = None
        org_name = " ".join(row.values.get("organization", "").split())
        if org_name:
            org = self.orgs.by_name.get(org_name.lower())
            if org is None or org[1]:
                raise RowError(f"No organization named {org_name}.")
            org_id = org[0]
        status = self.AssetStatus.IN_SERVICE
        raw_status = row.values.get("status", "").strip()
        if raw_status:
            wanted = raw_status.lower().replace(" ", "_")
            found = [s for s in self.AssetStatus if wanted in (s.value, s.label.lower().replace(" ", "_"))]
            if not found:
                raise RowError(f"Status {raw_status!r} is not one of: {', '.join(s.label for s in self.AssetStatus)}.")
            status = found[0]
        try:
            sold = policies.parse_date(row.values.get("date_sold", ""))
        except ValueError as exc:
            raise RowError(f"Date sold: {exc}.") from None
        try:
            warranty = policies.parse_date(row.values.get("warranty_end", ""))
        except ValueError as exc:
            raise RowError(f"Warranty end: {exc}.") from None
        if sold and warranty and warranty < sold:
            raise RowError(f"Warranty end {warranty} is before the date sold {sold}.")
        notes = row.values.get("notes", "").strip()
        if len(notes) > 5000:
            raise RowError("Notes are longer than 5000 characters.")
        self.serials[serial] = f"line {row.line}"
        now = utcnow()
        return {"serial_number": serial, "product_id": self.products[ref.lower()], "contact_id": contact_id,
                "organization_id": org_id, "status": status, "date_sold": sold, "warranty_end": warranty,
                "notes": notes, "created_at": now, "updated_at": now}


class CaseImporter(Importer):
    """Cases go through the case service one by one (numbers, SLA clocks, history), then get
    their product and asset through helpdesk.contracts' link_case."""

    PRIORITIES = {"1": 1, "2": 2, "3": 3, "4": 4, "low": 1, "normal": 2, "medium": 2, "high": 3, "urgent": 4}

    def __init__(self, actor, write):
        super().__init__(actor, write)
        self.products: dict[str, int | None] = {}
        self.assets: dict[str, int] = {}

    def prepare(self, rows):
        from helpdesk.assets.policies import clean_serial

        Product, Asset = _product_model(), _asset_model()
        refs = {x for r in rows if (x := r.values.get("product", "").strip().lower()) and x not in self.products}
        for chunk in _chunks(refs):
            found: dict[str, set[int]] = {}
            for pid, code, name in db.session.execute(select(Product.id, Product.code, Product.name).where(
                    Product.deleted_at.is_(None), func.lower(Product.code).in_(chunk) | func.lower(Product.name).in_(chunk))):
                for ref in {code.lower(), name.lower()} & set(chunk):
                    found.setdefault(ref, set()).add(pid)
            for ref, ids in found.items():
                self.products[ref] = next(iter(ids)) if len(ids) == 1 else None
        serials = {x for r in rows if (x := clean_serial(r.values.get("asset"))) and x not in self.assets}
        for chunk in _chunks(serials):
            for aid, serial in db.session.execute(select(Asset.id, Asset.serial_number).where(
                    Asset.serial_number.in_(chunk), Asset.deleted_at.is_(None))):
                self.assets[serial] = aid

    def _links(self, row: Row) -> dict:
        from helpdesk.assets.policies import clean_serial

        links = {}
        ref = row.values.get("product", "").strip()
        if ref:
            if ref.lower() not in self.products:
                raise RowError(f"No product with the code or name {ref}.")
            if self.products[ref.lower()] is None:
                raise RowError(f"Several products are called {ref}; use the product code.")
            links["product_id"] = str(self.products[ref.lower()])
        serial = clean_serial(row.values.get("asset"))
        if serial:
            if serial not in self.assets:
                raise RowError(f"No asset with the serial number {serial}.")
            links["asset_id"] = str(self.assets[serial])
        return links

    def check(self, row):
        subject = _required(row, "subject", "Subject", 300)
        body = row.values.get("body", "").strip()
        if not body:
            raise RowError("Description is empty.")
        email = normalize_email(row.values.get("contact_email"))
        if email and (len(email) > 254 or not EMAIL_RE.match(email)):
            raise RowError(f"Contact email {row.values.get('contact_email')!r} is not an email address.")
        raw = row.values.get("priority", "").strip().lower()
        if raw and raw not in self.PRIORITIES:
            raise RowError(f"Priority {row.values.get('priority')!r} is not Low, Normal, High or Urgent.")
        tags = [t for t in re.split(r"[,;]", row.values.get("tags", "")) if t.strip()]
        if any(len(t.strip()) > 60 for t in tags):
            raise RowError("A tag is longer than 60 characters.")
        return {"subject": subject, "body": body, "email": email, "name": row.values.get("contact_name", "").strip(),
                "priority": self.PRIORITIES.get(raw, 2), "tags": tags, "links": self._links(row)}

    def save(self, good):
        from helpdesk.cases.models import Priority
        from helpdesk.cases.services import open_case
        from helpdesk.people.services import find_or_create_contact

        for _, v in good:
            contact = find_or_create_contact(self.actor, email=v["email"], name=v["name"]) if v["email"] else None
            case = open_case(self.actor, subject=v["subject"], body=v["body"], contact=contact,
                             priority=Priority(v["priority"]), tags=v["tags"])
            if v["links"]:
                from helpdesk.contracts.services import link_case

                link_case(self.actor, case, v["links"])


IMPORTERS: dict[str, type[Importer]] = {
    "organization": OrganizationImporter,
    "contact": ContactImporter,
    "product": ProductImporter,
    "asset": AssetImporter,
    "case": CaseImporter,
}
