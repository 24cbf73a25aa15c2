"""The visitor's chat widget: in the portal, and on any allowed website with one script tag.

<script src="https://help.example.com/chat/widget/embed.js" async></script>

The script adds a button that opens the widget in a frame served from here, so the chat
itself never crosses origins. Which sites may frame it (Content-Security-Policy
frame-ancestors) and read its availability (CORS) comes from HELPDESK_CHAT_ALLOWED_ORIGINS.
"""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from helpdesk.extensions import csrf
    from portal.chat import bot, views

    app.register_blueprint(views.bp)
    # The frame runs on other sites, where the session cookie (SameSite=Lax) is not sent, so
    # the usual CSRF token cannot work: the start forms carry a signed ticket instead, and
    # everything after is authorised by the chat's secret token in the URL, not by a cookie.
    csrf.exempt(views.bp)
    bot.init_app(app)
