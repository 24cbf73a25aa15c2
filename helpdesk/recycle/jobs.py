"""The periodic purge: records kept longer than the retention period are deleted for good."""
from __future__ import annotations

from datetime import timedelta

from helpdesk import jobs
from helpdesk.extensions import db
from helpdesk.recycle import services


@jobs.periodic(every=timedelta(hours=1))
def purge_recycle_bin() -> int:
    """Purge every entry past its retention period, one commit each; return how many."""
    purged = 0
    while entries := services.expired_entries(limit=50):
        for entry in entries:
            orphans = services.purge_entry(None, entry)
            db.session.commit()
            services.remove_blob_files(orphans)
            purged += 1
    return purged
