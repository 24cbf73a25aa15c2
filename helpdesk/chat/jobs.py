"""Periodic chat housekeeping: chats nobody accepted go back to the queue, gone visitors end."""
from __future__ import annotations

from datetime import timedelta

from helpdesk import jobs
from helpdesk.chat import services
from helpdesk.extensions import db


@jobs.periodic(every=timedelta(seconds=30))
def sweep_chats() -> dict:
    """Re-route chats not accepted in CHAT_ACCEPT_SECONDS; end chats whose visitor left while
    waiting (missed, abandoned). Safe to run twice: both look only at chats still in that state."""
    rerouted = services.reroute_unaccepted()
    abandoned = services.end_abandoned()
    db.session.commit()
    return {"rerouted": len(rerouted), "abandoned": len(abandoned)}
