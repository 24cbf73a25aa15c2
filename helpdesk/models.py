"""Every domain's models in one import, so the schema (and Alembic) sees them all."""
import helpdesk.cases.models  # noqa: F401
import helpdesk.mail.models  # noqa: F401
import helpdesk.people.models  # noqa: F401
import helpdesk.sla.models  # noqa: F401
