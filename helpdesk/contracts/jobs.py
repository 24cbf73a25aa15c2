"""Contract jobs: recount contracts, expire those whose last day has passed, and tell followers,
once per threshold, that a contract is about to end or running low."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import or_, select

from helpdesk import jobs
from helpdesk.contracts import policies, queries
from helpdesk.contracts.models import ContractNotice, ContractStatus, ServiceContract
from helpdesk.contracts.services import refresh_usages
from helpdesk.extensions import db

BATCH = 500


@jobs.periodic(every=timedelta(minutes=30))
def review_contracts(today: date | None = None) -> int:
    """Recount every live contract's units and status, and notify followers of the thresholds it
    crossed; return how many notifications were sent.

    Recounting here as well as at each change keeps contracts right after changes that do not
    go through the contract services (a case deleted or restored, a merge). Safe to run twice or
    twice at once: each notice key is inserted once.
    """
    today = today or queries.today()
    ids = list(db.session.scalars(
        select(ServiceContract.id).where(
            ServiceContract.deleted_at.is_(None),
            # Contracts that expired long ago have nothing more to say.
            or_(ServiceContract.status != ContractStatus.EXPIRED,
                ServiceContract.end_date >= today - timedelta(days=policies.EXPIRED_GRACE_DAYS)),
        ).order_by(ServiceContract.id)))
    sent = 0
    for start in range(0, len(ids), BATCH):
        batch = list(db.session.scalars(select(ServiceContract).where(ServiceContract.id.in_(ids[start:start + BATCH]))
                                        .order_by(ServiceContract.id)))
        refresh_usages(batch, today)
        for contract in batch:
            for key, what in policies.due_notices(today, contract.end_date, contract.total_units, contract.used_units,
                                                  contract.status):
                if _record_once(contract.id, key):
                    sent += _notify(contract, key, what)
        db.session.commit()
    return sent


def _notify(contract: ServiceContract, key: str, what: str) -> int:
    from helpdesk.notifications.services import followers, notify

    kind = "contract_" + key.split(":", 1)[0]
    title = f"Service contract {contract.name} ({contract.customer_name}) {what}"
    body = f"{contract.used_units:g} of {contract.total_units:g} {contract.tracking_unit.value} used; ends {contract.end_date.isoformat()}."
    return len(notify(followers("contract", contract.id), kind=kind, title=title, body=body,
                      url=f"/contracts/{contract.id}", target=("contract", contract.id)))


_INSERTS: dict = {}


def _record_once(contract_id: int, key: str) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING: True when this call recorded the notice."""
    dialect = db.session.get_bind().dialect.name
    stmt = _INSERTS.get(dialect)
    if stmt is None:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        table = ContractNotice.__table__
        stmt = _INSERTS[dialect] = (insert(table).on_conflict_do_nothing(index_elements=["contract_id", "key"])
                                    .returning(table.c.id))
    return db.session.execute(stmt, {"contract_id": contract_id, "key": key}).scalar() is not None
