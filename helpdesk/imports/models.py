"""ImportRun: one uploaded file on its way from column mapping through preview to a finished import."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.extensions import db
from helpdesk.people.models import User
from helpdesk.types import UTCDateTime, string_enum, utcnow


class ImportStatus(str, enum.Enum):
    MAPPING = "mapping"  # uploaded; columns being mapped and previewed
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # nothing imported (all-or-nothing with bad rows, or an unreadable file)

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def finished(self) -> bool:
        return self in (ImportStatus.DONE, ImportStatus.FAILED)


class ImportRun(db.Model):
    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # organization, contact, product, asset or case
    format: Mapped[str] = mapped_column(String(10), default="csv")  # csv or vcard
    status: Mapped[ImportStatus] = mapped_column(string_enum(ImportStatus), default=ImportStatus.MAPPING)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    # The uploaded file, kept in the attachment store until the run is deleted.
    blob_sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"), index=True)
    encoding: Mapped[str] = mapped_column(String(40), default="utf-8")
    detected_encoding: Mapped[str] = mapped_column(String(40), default="utf-8")
    delimiter: Mapped[str] = mapped_column(String(1), default=",")
    header: Mapped[list] = mapped_column(JSON, default=list)
    # Field key -> index of the file's column (None: not imported).
    mapping: Mapped[dict] = mapped_column(JSON, default=dict)
    all_or_nothing: Mapped[bool] = mapped_column(default=False)
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    imported_rows: Mapped[int] = mapped_column(default=0)
    error_count: Mapped[int] = mapped_column(default=0)
    # [{"line": 7, "reason": "..."}], the first MAX_STORED_ERRORS of them.
    errors: Mapped[list] = mapped_column(JSON, default=list)
    # Records made along the way (organizations named by contacts), in words.
    notes: Mapped[str] = mapped_column(Text, default="")
    # Why the whole file failed, when it did.
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User | None] = relationship()

    @property
    def percent(self) -> int:
        if self.status.finished:
            return 100
        return int(100 * self.processed_rows / self.total_rows) if self.total_rows else 0
