"""State changes of the recycle bin: move a record (and what belongs to it) in, restore it, purge it.

Deleting sets deleted_at on the record and on every live record that goes with it (an
organization's contacts, their cases, assets and contracts) and lists them all in one entry,
so a restore clears exactly those. Purging deletes the rows for good, with every row that
cannot live without them, found from the schema's foreign keys, and the attachment files
nothing else uses.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import Table, delete, func, insert, select, update

from helpdesk.cases.attachments import blob_path
from helpdesk.cases.models import Activity, Blob, Case
from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.people.models import CustomerActivity, User
from helpdesk.recycle import policies
from helpdesk.recycle.models import RecycleEntry, RecycleItem
from helpdesk.types import utcnow

log = logging.getLogger(__name__)
_CHUNK = 500


def _chunks(ids):
    ids = list(ids)
    for i in range(0, len(ids), _CHUNK):
        yield ids[i:i + _CHUNK]


def _kind(key: str) -> policies.Kind:
    kind = policies.KINDS.get(key)
    if kind is None or kind.model is None:
        raise NotFound(f"Nothing called {key!r} can be deleted.")
    return kind


def retention_days() -> int:
    return int(current_app.config.get("RECYCLE_RETENTION_DAYS", 30))


# --- delete --------------------------------------------------------------------------------


def delete_record(actor: User | None, kind_key: str, object_id: int) -> RecycleEntry:
    """Move a live record to the bin with everything that belongs to it; return its entry."""
    kind = _kind(kind_key)
    obj = db.session.get(kind.model, object_id)
    if obj is None or obj.deleted_at is not None:
        raise NotFound(f"No {kind.label.lower()} {object_id}.")
    members = _with_dependents(kind, object_id)
    now = utcnow()
    entry = RecycleEntry(kind=kind.key, object_id=object_id, label=policies.label_of(obj), deleted_at=now,
                         deleted_by_id=actor.id if actor else None,
                         summary=policies.describe_counts({k: len(ids) for k, ids in members.items() if k != kind.key}
                                                          | {kind.key: len(members[kind.key]) - 1}))
    db.session.add(entry)
    db.session.flush()
    db.session.execute(insert(RecycleItem), [
        {"entry_id": entry.id, "kind": key, "object_id": i} for key, ids in members.items() for i in ids])
    for key, ids in members.items():
        _set_deleted(policies.KINDS[key], ids, now)
        reason = None if key == kind.key else f"with {kind.label.lower()} {entry.label}"
        if key == "case":
            _log_cases(actor, ids, "deleted", reason)
        elif key in ("contact", "organization"):
            _log_customers(actor, key, ids, "deleted", reason)
    db.session.expire_all()
    return entry


def _with_dependents(kind: policies.Kind, object_id: int) -> dict[str, set[int]]:
    """The record and every live record that goes with it, by kind (breadth first)."""
    members: dict[str, set[int]] = defaultdict(set)
    members[kind.key].add(object_id)
    todo = [(kind, {object_id})]
    while todo:
        parent, ids = todo.pop(0)
        for child_key, column in parent.children:
            child = policies.KINDS[child_key]
            model = child.model
            if model is None or not hasattr(model, column):
                continue
            found = set()
            for chunk in _chunks(ids):
                found.update(db.session.scalars(select(model.id).where(
                    getattr(model, column).in_(chunk), model.deleted_at.is_(None))))
            new = found - members[child_key]
            if new:
                members[child_key] |= new
                todo.append((child, new))
    return members


def _set_deleted(kind: policies.Kind, ids, when) -> None:
    model = kind.model
    values = {"deleted_at": when}
    if model is Case:
        values["version"] = Case.version + 1  # a form still open on the case is now stale
    for chunk in _chunks(ids):
        db.session.execute(update(model).where(model.id.in_(chunk)).values(**values),
                           execution_options={"synchronize_session": False})


def _log_cases(actor: User | None, ids, action: str, reason: str | None) -> None:
    now = utcnow()
    for chunk in _chunks(sorted(ids)):
        versions = dict(db.session.execute(select(Case.id, Case.version).where(Case.id.in_(chunk))).all())
        db.session.execute(insert(Activity), [
            {"case_id": i, "actor_user_id": actor.id if actor else None, "action": action, "reason": reason,
             "case_version": versions.get(i), "created_at": now} for i in chunk])


def _log_customers(actor: User | None, key: str, ids, action: str, reason: str | None) -> None:
    """The contact's or organization's own history (what its One View shows)."""
    now = utcnow()
    column = "contact_id" if key == "contact" else "organization_id"
    db.session.execute(insert(CustomerActivity), [
        {column: i, "actor_user_id": actor.id if actor else None, "action": action, "reason": reason, "created_at": now}
        for i in sorted(ids)])


# --- restore -------------------------------------------------------------------------------


def restore_entry(actor: User | None, entry: RecycleEntry) -> list[RecycleEntry]:
    """Put the entry's records back, and the entries of any deleted records they belong to
    (a contact's organization, a case's contact); return every entry restored, this one first.

    Refused, with the reason, when the retention period is over or a record it belongs to
    was deleted outside the bin.
    """
    now = utcnow()
    plan: list[RecycleEntry] = []
    _plan_restore(entry, plan, now)
    for item_entry in plan:
        by_kind: dict[str, list[int]] = defaultdict(list)
        for item in item_entry.items:
            by_kind[item.kind].append(item.object_id)
        for key, ids in by_kind.items():
            kind = policies.KINDS[key]
            if kind.model is None:
                continue
            for chunk in _chunks(ids):
                values = {"deleted_at": None}
                if kind.model is Case:
                    values["version"] = Case.version + 1
                db.session.execute(update(kind.model).where(kind.model.id.in_(chunk)).values(**values),
                                   execution_options={"synchronize_session": False})
            reason = None if key == item_entry.kind and item_entry is entry else \
                f"with {policies.KINDS[item_entry.kind].label.lower()} {item_entry.label}"
            if key == "case":
                _log_cases(actor, ids, "restored", reason)
            elif key in ("contact", "organization"):
                _log_customers(actor, key, ids, "restored", reason)
    for item_entry in plan:
        db.session.delete(item_entry)
    db.session.flush()
    db.session.expire_all()
    return plan


def _plan_restore(entry: RecycleEntry, plan: list[RecycleEntry], now) -> None:
    if entry in plan:
        return
    kind = policies.KINDS.get(entry.kind)
    if kind is None or kind.model is None:
        raise ValidationFailed({"entry": f"{entry.label} cannot be restored: this help desk no longer has {entry.kind}s."})
    if policies.is_expired(entry.deleted_at, retention_days(), now):
        raise ValidationFailed({"entry": f"{entry.label} was deleted more than {retention_days()} days ago and "
                                         "cannot be restored any more."})
    plan.append(entry)
    for parent_kind, parent_id in _deleted_parents(entry):
        item = db.session.scalar(select(RecycleItem).where(RecycleItem.kind == parent_kind.key,
                                                           RecycleItem.object_id == parent_id))
        parent = db.session.get(parent_kind.model, parent_id)
        name = policies.label_of(parent) if parent is not None else f"#{parent_id}"
        if item is None:
            raise ValidationFailed({"entry": (
                f"{entry.label} cannot be restored: it belongs to {parent_kind.label.lower()} {name}, which was "
                "deleted outside the recycle bin. Restore or recreate that first.")})
        _plan_restore(item.entry, plan, now)


def _deleted_parents(entry: RecycleEntry) -> set[tuple[policies.Kind, int]]:
    """The deleted records the entry's records point to (through any foreign key) that are
    not in the entry themselves."""
    mine = {(i.kind, i.object_id) for i in entry.items}
    by_kind: dict[str, list[int]] = defaultdict(list)
    for kind_key, object_id in mine:
        by_kind[kind_key].append(object_id)
    found = set()
    for kind_key, ids in by_kind.items():
        model = policies.KINDS[kind_key].model
        if model is None:
            continue
        table: Table = model.__table__
        for fk in table.foreign_keys:
            parent_kind = policies.kind_of_table(fk.column.table.name)
            if parent_kind is None:
                continue
            parent = parent_kind.model
            column = table.c[fk.parent.name]
            for chunk in _chunks(ids):
                rows = db.session.scalars(
                    select(parent.id).where(parent.id.in_(select(column).where(table.c.id.in_(chunk), column.is_not(None))),
                                            parent.deleted_at.is_not(None)))
                found.update((parent_kind, pid) for pid in rows if (parent_kind.key, pid) not in mine)
    return {(k, i) for k, i in found}


# --- purge ---------------------------------------------------------------------------------


def purge_entry(actor: User | None, entry: RecycleEntry) -> list[str]:
    """Delete the entry's records for good, with every row that depends on them; return the
    blobs no row uses any more, whose files the caller removes after the commit
    (remove_blob_files)."""
    by_kind: dict[str, list[int]] = defaultdict(list)
    for item in entry.items:
        by_kind[item.kind].append(item.object_id)
    blobs: set[str] = set()
    db.session.delete(entry)
    db.session.flush()
    # Children before parents: cases before contacts before organizations.
    for key in ("case", "asset", "contract", "contact", "product", "organization"):
        kind = policies.KINDS[key]
        if by_kind.get(key) and kind.model is not None:
            _hard_delete(kind.model.__table__, by_kind[key], blobs)
    orphans = _unused_blobs(blobs)
    for chunk in _chunks(orphans):
        db.session.execute(delete(Blob).where(Blob.sha256.in_(chunk)))
    db.session.flush()
    db.session.expire_all()
    return orphans


def _hard_delete(table: Table, ids, blobs: set[str]) -> None:
    """DELETE rows of `table` by id, after whatever points at them: a nullable reference is
    set to NULL, a required one means the row cannot outlive its parent and goes too."""
    ids = list(ids)
    if not ids:
        return
    pk = list(table.primary_key.columns)
    referenced_tables = {f.column.table for t in db.metadata.sorted_tables for f in t.foreign_keys}
    for other in db.metadata.sorted_tables:
        for fk in other.foreign_keys:
            if fk.column.table is not table:
                continue
            column = fk.parent
            for chunk in _chunks(ids):
                if column.nullable and not column.primary_key:
                    db.session.execute(update(other).where(column.in_(chunk)).values({column.name: None}))
                    continue
                other_pk = list(other.primary_key.columns)
                if len(other_pk) == 1 and other in referenced_tables:
                    child_ids = list(db.session.scalars(select(other_pk[0]).where(column.in_(chunk))))
                    _hard_delete(other, child_ids, blobs)
                else:
                    _collect_blobs(other, column.in_(chunk), blobs)
                    db.session.execute(delete(other).where(column.in_(chunk)))
    for chunk in _chunks(ids):
        _collect_blobs(table, pk[0].in_(chunk), blobs)
        db.session.execute(delete(table).where(pk[0].in_(chunk)))


def _collect_blobs(table: Table, where, blobs: set[str]) -> None:
    for fk in table.foreign_keys:
        if fk.column.table.name == Blob.__tablename__:
            blobs.update(s for s in db.session.scalars(select(fk.parent).where(where)) if s)


def _unused_blobs(candidates: set[str]) -> list[str]:
    """The blobs among `candidates` that no row anywhere refers to any more."""
    unused = set(candidates)
    blob_table = Blob.__table__
    for other in db.metadata.sorted_tables:
        for fk in other.foreign_keys:
            if fk.column.table is blob_table and unused:
                for chunk in _chunks(sorted(unused)):
                    unused -= set(db.session.scalars(select(fk.parent).where(fk.parent.in_(chunk)).distinct()))
    return sorted(unused)


def remove_blob_files(shas: list[str]) -> None:
    """After the commit of a purge: remove the files of the blobs it deleted, unless the same
    content was uploaded again since."""
    if not shas:
        return
    root = current_app.config["ATTACHMENT_DIR"]
    back = set()
    for chunk in _chunks(shas):
        back.update(db.session.scalars(select(Blob.sha256).where(Blob.sha256.in_(chunk))))
    for sha in shas:
        if sha in back:
            continue
        try:
            Path(blob_path(root, sha)).unlink(missing_ok=True)
        except OSError:
            log.exception("Could not remove attachment file %s", sha)


def expired_entries(now=None, limit: int = 100) -> list[RecycleEntry]:
    now = now or utcnow()
    cutoff = now - timedelta(days=retention_days())
    return list(db.session.scalars(select(RecycleEntry).where(RecycleEntry.deleted_at <= cutoff)
                                   .order_by(RecycleEntry.deleted_at, RecycleEntry.id).limit(limit)))


def count_entries() -> int:
    return db.session.scalar(select(func.count()).select_from(RecycleEntry))
