"""The widget's pages and endpoints under /chat/widget; a chat is reached by its secret token."""
from __future__ import annotations

from flask import (Blueprint, Response, current_app, g, jsonify, make_response, redirect, render_template, request,
                   send_file, url_for)
from itsdangerous import BadSignature, URLSafeTimedSerializer

from helpdesk.cases.attachments import blob_path
from helpdesk.chat import queries, services, transport
from helpdesk.errors import ValidationFailed
from helpdesk.database import retry_when_busy
from helpdesk.extensions import db

bp = Blueprint("portal_chat", __name__, url_prefix="/chat/widget")

TICKET_MAX_AGE = 24 * 3600


@bp.before_request
def _load_contact():
    # A signed-in portal customer is recognised (their cookie reaches the widget in the portal).
    from portal.auth import load_contact

    load_contact()


@bp.after_request
def _frame_and_cors(response: Response) -> Response:
    origins = current_app.config.get("CHAT_ALLOWED_ORIGINS") or []
    response.headers["Content-Security-Policy"] = "frame-ancestors " + " ".join(["'self'", *origins])
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="helpdesk.chat.widget")


def _ticket() -> str:
    return _serializer().dumps("chat-widget")


def _check_ticket() -> None:
    try:
        _serializer().loads(request.form.get("ticket", ""), max_age=TICKET_MAX_AGE)
    except BadSignature:
        raise ValidationFailed({"ticket": "This form has expired; reload the page."}) from None


def _topic(raw):
    topics = {str(t.id): t for t in queries.active_topics()}
    return topics.get(str(raw or "")) or (next(iter(topics.values())) if len(topics) == 1 else None)


def _start_context(form=None, errors=None, **extra) -> dict:
    topics = queries.active_topics()
    # A topic with the bot is always open: the bot answers, a person when one is free.
    open_topics = [t for t in topics if t.bot_enabled or services.topic_availability(t).open]
    return dict(topics=topics, open_topics=open_topics, form=form or request.args, errors=errors or {},
                ticket=_ticket(), contact=g.get("contact"), page_url=request.values.get("page", ""), **extra)


@bp.get("")
def start_page():
    context = _start_context()
    chat_now = context["open_topics"] and not request.args.get("offline")
    template = "portal/chat/start.html" if chat_now else "portal/chat/offline.html"
    return render_template(template, **context)


@bp.post("/start")
@retry_when_busy
def start():
    form = request.form
    topic = _topic(form.get("topic_id"))
    try:
        _check_ticket()
        if topic is not None and not topic.bot_enabled and not services.topic_availability(topic).open:
            return render_template("portal/chat/offline.html", **_start_context(
                form, notice="Nobody can chat about this right now. Leave a message and we will answer by email."))
        chat = services.start_chat(g.get("contact"), name=form.get("name", ""), email=form.get("email", ""), topic=topic,
                                   page_url=form.get("page", ""), user_agent=request.user_agent.string,
                                   message=form.get("message", ""))
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        return render_template("portal/chat/start.html", **_start_context(form, exc.errors)), 422
    return redirect(url_for("portal_chat.show", token=chat.token))


@bp.post("/offline")
@retry_when_busy
def offline():
    form = request.form
    try:
        _check_ticket()
        case = services.leave_offline_message(g.get("contact"), name=form.get("name", ""), email=form.get("email", ""),
                                              topic=_topic(form.get("topic_id")), message=form.get("message", ""),
                                              page_url=form.get("page", ""))
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        return render_template("portal/chat/offline.html", **_start_context(form, exc.errors)), 422
    return render_template("portal/chat/sent.html", case=case, contact=g.get("contact"))


# --- one chat ----------------------------------------------------------------------------------


def _chat(token: str):
    chat = queries.chat_by_token(token)
    g.chat = chat
    return chat


def _status_context(chat) -> dict:
    position = services.queue_position(chat)
    return dict(chat=chat, position=position, wait=services.expected_wait(chat) if position else None)


@bp.get("/c/<token>")
def show(token: str):
    chat = _chat(token)
    return render_template("portal/chat/chat.html", last_seq=chat.messages[-1].seq if chat.messages else 0,
                           **_status_context(chat))


@bp.get("/c/<token>/status")
@retry_when_busy
def status(token: str):
    chat = _chat(token)
    if chat.status.is_live:
        services.visitor_seen(chat)
        db.session.commit()
    return render_template("portal/chat/_status.html", **_status_context(chat))


@bp.get("/c/<token>/events")
def events(token: str):
    chat = _chat(token)
    return transport.response(chat.id, transport.parse_after(request.headers.get("Last-Event-ID"), request.args.get("after")))


def _back(chat, status: int = 200):
    if request.headers.get("HX-Request") == "true":
        return render_template("portal/chat/_status.html", **_status_context(chat)), status
    return redirect(url_for("portal_chat.show", token=chat.token))


@bp.post("/c/<token>/send")
@retry_when_busy
def send(token: str):
    chat = _chat(token)
    upload = request.files.get("file")
    services.send_visitor_message(chat, request.form.get("body", ""),
                                  services.Upload(upload.filename, upload.stream) if upload and upload.filename else None)
    db.session.commit()
    if request.headers.get("HX-Request") == "true":
        return "", 204
    return redirect(url_for("portal_chat.show", token=chat.token))


@bp.post("/c/<token>/typing")
def typing(token: str):
    chat = _chat(token)
    transport.publish_now(transport.chat_channel(chat.id), {"type": "typing", "who": "visitor", "name": chat.visitor_name})
    return "", 204


@bp.post("/c/<token>/human")
@retry_when_busy
def human(token: str):
    chat = _chat(token)
    services.request_human(chat)
    db.session.commit()
    return _back(chat)


@bp.post("/c/<token>/solved")
@retry_when_busy
def solved(token: str):
    chat = _chat(token)
    services.resolve_by_bot(chat)
    db.session.commit()
    return _back(chat)


@bp.post("/c/<token>/end")
@retry_when_busy
def end(token: str):
    chat = _chat(token)
    services.end_chat(None, chat, by="visitor")
    db.session.commit()
    return _back(chat)


@bp.post("/c/<token>/rate")
@retry_when_busy
def rate(token: str):
    chat = _chat(token)
    try:
        services.rate_chat(chat, request.form.get("rating"), request.form.get("comment", ""))
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        return render_template("portal/chat/_status.html", errors=exc.errors, **_status_context(chat)), 422
    return _back(chat)


@bp.post("/c/<token>/email")
@retry_when_busy
def email(token: str):
    chat = _chat(token)
    services.email_transcript(chat)  # only ever to the address the visitor gave
    db.session.commit()
    return _back(chat)


@bp.get("/c/<token>/files/<int:seq>")
def file(token: str, seq: int):
    chat = _chat(token)
    message = queries.message_by_seq(chat.id, seq)
    return send_file(blob_path(current_app.config["ATTACHMENT_DIR"], message.blob_sha256), as_attachment=True,
                     download_name=message.filename, mimetype="application/octet-stream")


# --- the embed ---------------------------------------------------------------------------------


@bp.get("/availability")
def availability():
    """Whether anyone can chat now: read by the embed script on the host page (CORS)."""
    topics = queries.active_topics()
    response = jsonify(open=any(services.topic_availability(t).open for t in topics), topics=len(topics))
    origin = request.headers.get("Origin")
    allowed = current_app.config.get("CHAT_ALLOWED_ORIGINS") or []
    if origin and origin.rstrip("/") in allowed:
        response.headers["Access-Control-Allow-Origin"] = origin
    response.headers.add("Vary", "Origin")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/embed.js")
def embed():
    response = make_response(render_template("portal/chat/embed.js", widget_url=url_for("portal_chat.start_page", _external=True),
                                             availability_url=url_for("portal_chat.availability", _external=True)))
    response.mimetype = "application/javascript"
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
