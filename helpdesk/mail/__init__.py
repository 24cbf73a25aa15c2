"""Outbound mail: the OutboundEmail record, the job that sends it, and the SMTP or outbox transport."""
from helpdesk.mail import models  # noqa: F401  (registers the tables)
