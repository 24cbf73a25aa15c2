"""The periodic jobs for `rq cron`; run exactly one: `rq cron --url "$HELPDESK_REDIS_URL" helpdesk/cron.py`."""
from rq import cron

from helpdesk import jobs

for entry in jobs.periodic_jobs():
    cron.register(entry.func, queue_name=entry.queue, interval=entry.seconds, name=entry.name)
