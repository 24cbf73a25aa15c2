"""Every domain's models in one import, so the schema (and Alembic) sees them all."""
import helpdesk.assets.models  # noqa: F401
import helpdesk.cases.models  # noqa: F401
import helpdesk.chat.models  # noqa: F401
import helpdesk.contracts.models  # noqa: F401
import helpdesk.imports.models  # noqa: F401
import helpdesk.insights.models  # noqa: F401
import helpdesk.mail.models  # noqa: F401
import helpdesk.notifications.models  # noqa: F401
import helpdesk.people.models  # noqa: F401
import helpdesk.recycle.models  # noqa: F401
import helpdesk.satisfaction.models  # noqa: F401
import helpdesk.sla.models  # noqa: F401
