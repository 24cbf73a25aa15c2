"""The agent console under /chat: availability, the queue, several chats, transfer, watch, topics."""
from __future__ import annotations

from flask import Blueprint, Flask, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from helpdesk.auth.policies import can, require
from helpdesk.cases.attachments import blob_path
from helpdesk.chat import queries, services, transport
from helpdesk.chat.models import AgentStatus, CannedReply, ChatTopic, Routing
from helpdesk.chat.policies import describe_wait
from helpdesk.errors import ValidationFailed
from helpdesk.database import retry_when_busy
from helpdesk.extensions import db
from helpdesk.people import queries as people_queries
from helpdesk.people.models import Group, User
from helpdesk.sla.models import BusinessHours
from helpdesk.web import is_partial_request, render

bp = Blueprint("chat", __name__, url_prefix="/chat")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    transport.init_app(app)
    app.jinja_env.globals["describe_wait"] = describe_wait


@bp.before_request
@login_required
def _require_login():
    require(current_user, "chat.answer")


def _chat_for(chat_id: int, need: str = "answer"):
    chat = queries.get_chat(chat_id)
    access = queries.check_access(current_user, chat)
    if need == "answer" and access != "answer":
        require(current_user, "chat.answer")  # a manager watching may still take part
    return chat, access


def _console_context(selected=None) -> dict:
    mine = queries.my_chats(current_user)
    waiting = queries.waiting_chats(current_user)
    live = queries.live_chats() if can(current_user, "chat.watch") else []
    ids = [c.id for c in mine + waiting + live]
    return dict(mine=mine, waiting=waiting, live=live, unanswered=queries.unanswered_counts(ids),
                availability=queries.availability(current_user), statuses=list(AgentStatus), selected=selected)


def _pane_context(chat) -> dict:
    access = queries.check_access(current_user, chat)
    return dict(chat=chat, access=access, canned=queries.canned_replies(), agents=queries.online_agents(),
                groups=people_queries.all_groups(), last_seq=chat.messages[-1].seq if chat.messages else 0)


@bp.get("")
def console():
    context = _console_context()
    chat = queries.get_chat(int(request.args["chat"])) if request.args.get("chat", "").isdigit() else (
        context["mine"][0] if context["mine"] else None)
    if chat is not None:
        context.update(_pane_context(chat), selected=chat)
    return render("chat/console.html", recent=queries.recent_chats(current_user), **context)


@bp.get("/lists")
def lists():
    selected = int(request.args["selected"]) if request.args.get("selected", "").isdigit() else None
    return render_template("chat/_lists.html", **_console_context(selected=selected))


@bp.post("/availability")
@retry_when_busy
def availability():
    services.set_availability(current_user, request.form.get("status", ""), request.form.get("capacity") or None)
    db.session.commit()
    if is_partial_request():
        return render_template("chat/_lists.html", **_console_context())
    return redirect(url_for("chat.console"))


@bp.get("/<int:chat_id>")
def show(chat_id: int):
    chat = queries.get_chat(chat_id)
    if is_partial_request() and request.headers.get("HX-Target") == "chat-pane":
        return render("chat/_pane.html", **_pane_context(chat))
    return render("chat/console.html", recent=queries.recent_chats(current_user),
                  **{**_console_context(selected=chat), **_pane_context(chat)})


@bp.get("/<int:chat_id>/events")
def events(chat_id: int):
    _chat_for(chat_id, need="watch")
    return transport.response(chat_id, transport.parse_after(request.headers.get("Last-Event-ID"), request.args.get("after")))


@bp.get("/events")
def console_events():
    """The consoles' own stream: new, routed and ended chats (lists refresh, a sound plays)."""
    return transport.channel_response(transport.AGENTS)


def _done(chat, message: str | None = None):
    """htmx gets the pane back; a plain form goes back to the chat with a flash."""
    if is_partial_request():
        return render_template("chat/_pane.html", **_pane_context(chat))
    if message:
        flash(message, "success")
    return redirect(url_for("chat.show", chat_id=chat.id))


@bp.post("/<int:chat_id>/accept")
@retry_when_busy
def accept(chat_id: int):
    chat, _ = _chat_for(chat_id)
    services.accept_chat(current_user, chat)
    db.session.commit()
    return _done(chat)


@bp.post("/<int:chat_id>/send")
@retry_when_busy
def send(chat_id: int):
    chat, _ = _chat_for(chat_id)
    upload = request.files.get("file")
    services.send_agent_message(current_user, chat, request.form.get("body", ""),
                                services.Upload(upload.filename, upload.stream) if upload and upload.filename else None)
    db.session.commit()
    if is_partial_request():
        return "", 204  # the message arrives through the stream, like the visitor's
    return redirect(url_for("chat.show", chat_id=chat.id))


@bp.post("/<int:chat_id>/typing")
def typing(chat_id: int):
    chat, _ = _chat_for(chat_id)
    transport.publish_now(transport.chat_channel(chat.id), {"type": "typing", "who": "agent", "name": current_user.name})
    return "", 204


@bp.post("/<int:chat_id>/transfer")
@retry_when_busy
def transfer(chat_id: int):
    chat, _ = _chat_for(chat_id)
    agent = db.session.get(User, int(request.form["agent_id"])) if request.form.get("agent_id", "").isdigit() else None
    group = db.session.get(Group, int(request.form["group_id"])) if request.form.get("group_id", "").isdigit() else None
    services.transfer_chat(current_user, chat, agent=agent, group=group)
    db.session.commit()
    flash(gettext("Chat transferred."), "success")
    return redirect(url_for("chat.console"))


@bp.post("/<int:chat_id>/end")
@retry_when_busy
def end(chat_id: int):
    chat, _ = _chat_for(chat_id)
    services.end_chat(current_user, chat, by="agent")
    db.session.commit()
    return _done(chat, gettext("Chat ended; the transcript is on the contact."))


@bp.post("/<int:chat_id>/case")
@retry_when_busy
def to_case(chat_id: int):
    chat, _ = _chat_for(chat_id, need="watch")
    require(current_user, "case.create")
    case = services.convert_to_case(current_user, chat, request.form.get("subject", ""))
    db.session.commit()
    flash(gettext('%(number)s opened from the chat.', number=case.number), "success")
    return redirect(url_for("cases.show", case_id=case.id))


@bp.post("/<int:chat_id>/email")
@retry_when_busy
def email(chat_id: int):
    chat, _ = _chat_for(chat_id, need="watch")
    services.email_transcript(chat, request.form.get("email") or None)
    db.session.commit()
    return _done(chat, gettext("Transcript emailed."))


@bp.get("/<int:chat_id>/files/<int:seq>")
def file(chat_id: int, seq: int):
    _chat_for(chat_id, need="watch")
    message = queries.message_by_seq(chat_id, seq)
    return send_file(blob_path(current_app.config["ATTACHMENT_DIR"], message.blob_sha256), as_attachment=True,
                     download_name=message.filename, mimetype="application/octet-stream")


# --- canned replies and topics (managers) --------------------------------------------------------


@bp.route("/canned", methods=["GET", "POST"])
def canned():
    require(current_user, "chat.admin")
    errors, form = {}, request.form
    if request.method == "POST":
        reply = db.session.get(CannedReply, int(form["id"])) if form.get("id", "").isdigit() else None
        try:
            services.save_canned_reply(current_user, reply, title=form.get("title", ""), body=form.get("body", ""))
            db.session.commit()
            flash(gettext("Canned reply saved."), "success")
            return redirect(url_for("chat.canned"))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
    return render("chat/canned.html", status=422 if errors else 200, errors=errors, form=form,
                  replies=queries.canned_replies())


@bp.post("/canned/<int:reply_id>/delete")
def delete_canned(reply_id: int):
    require(current_user, "chat.admin")
    reply = db.session.get(CannedReply, reply_id) or abort(404)
    services.delete_canned_reply(current_user, reply)
    db.session.commit()
    flash(gettext("Canned reply deleted."), "success")
    return redirect(url_for("chat.canned"))


@bp.route("/topics", methods=["GET", "POST"])
def topics():
    require(current_user, "chat.admin")
    errors, form = {}, request.form
    if request.method == "POST":
        topic = db.session.get(ChatTopic, int(form["id"])) if form.get("id", "").isdigit() else None
        try:
            services.save_topic(current_user, topic, form)
            db.session.commit()
            flash(gettext("Topic saved."), "success")
            return redirect(url_for("chat.topics"))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
    return render("chat/topics.html", status=422 if errors else 200, errors=errors, form=form,
                  topics=queries.all_topics(), groups=people_queries.all_groups(), routings=list(Routing),
                  calendars=list(db.session.scalars(db.select(BusinessHours).order_by(BusinessHours.name))))
