"""The visitor's widget: start, queue, offline form, messages, rating, embed and its origin checks."""
import re

from sqlalchemy import select

from helpdesk.cases.models import Case, Channel
from helpdesk.chat.models import ChatSession, ChatStatus
from helpdesk.extensions import db


def _ticket(page: str) -> str:
    return re.search(r'name="ticket" value="([^"]+)"', page).group(1)


def test_start_a_chat_and_see_the_queue_position(client, make_topic, make_agent, make_group):
    group = make_group()
    topic = make_topic(name="Orders", group=group)
    make_agent(group=group, capacity=1)
    client.post  # the first visitor takes the only agent
    pages = []
    for name in ("Ann", "Bob"):
        page = client.get("/chat/widget?page=https://shop.example/cart").get_data(as_text=True)
        assert "Start chat" in page and 'for="name"' in page
        response = client.post("/chat/widget/start", data={"ticket": _ticket(page), "name": name, "email": f"{name}@x.example",
                                                           "topic_id": topic.id, "message": f"{name} needs help",
                                                           "page": "https://shop.example/cart"})
        assert response.status_code == 302
        pages.append(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "will be with you in a moment" in pages[0]
    assert "number 1</strong> in the queue" in pages[1] and "Expected wait" in pages[1]
    chat = db.session.scalar(select(ChatSession).where(ChatSession.visitor_name == "Bob"))
    assert chat.page_url == "https://shop.example/cart" and chat.status == ChatStatus.QUEUED


def test_a_bad_or_missing_ticket_and_bad_fields_are_refused(client, make_topic, make_agent):
    topic = make_topic()
    make_agent(group=topic.group)
    response = client.post("/chat/widget/start", data={"ticket": "forged", "name": "A", "email": "a@x.example",
                                                       "topic_id": topic.id})
    assert response.status_code == 422 and "expired" in response.get_data(as_text=True)
    page = client.get("/chat/widget").get_data(as_text=True)
    response = client.post("/chat/widget/start", data={"ticket": _ticket(page), "name": "", "email": "nope", "topic_id": topic.id})
    assert response.status_code == 422 and "Give an email address" in response.get_data(as_text=True)


def test_offline_form_when_nobody_is_online_makes_a_case(client, make_topic):
    topic = make_topic(name="Billing")
    page = client.get("/chat/widget").get_data(as_text=True)
    assert "Leave us a message" in page and "Start chat" not in page
    response = client.post("/chat/widget/offline", data={"ticket": _ticket(page), "name": "Nora", "email": "nora@x.example",
                                                         "topic_id": topic.id, "message": "Invoice 7 is wrong"})
    assert response.status_code == 200
    case = db.session.scalar(select(Case).where(Case.subject == "Billing: Invoice 7 is wrong"))
    assert case.channel == Channel.CHAT and case.group == topic.group
    assert case.number in response.get_data(as_text=True)


def test_visitor_sends_ends_rates_and_asks_for_the_transcript(client, make_topic, make_agent, start):
    agent = make_agent()
    chat = start(make_topic(group=None))
    db.session.commit()
    base = f"/chat/widget/c/{chat.token}"
    assert client.post(f"{base}/send", data={"body": "Anyone there?"}, headers={"HX-Request": "true"}).status_code == 204
    assert client.post(f"{base}/end").status_code == 302
    page = client.get(base).get_data(as_text=True)
    assert "Anyone there?" in page and "This chat has ended" in page and "How did we do?" in page
    assert client.post(f"{base}/rate", data={"rating": "6"}, headers={"HX-Request": "true"}).status_code == 422
    status = client.post(f"{base}/rate", data={"rating": "4", "comment": "ok"}, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "rating it 4/5" in status
    assert "on its way" in client.post(f"{base}/email", headers={"HX-Request": "true"}).get_data(as_text=True)
    db.session.refresh(chat)
    assert (chat.rating, chat.rating_comment, chat.ended_by) == (4, "ok", "visitor") and chat.transcript_emailed_at


def test_an_unknown_token_is_not_found(client):
    assert client.get("/chat/widget/c/not-a-token").status_code == 404
    assert client.post("/chat/widget/c/not-a-token/send", data={"body": "x"}).status_code == 404


def test_bot_answers_from_the_knowledge_base_and_hands_over(client, make_topic, make_agent, app, make_user):
    from knowledge_base import services as kb

    editor = make_user(role="manager")
    article = kb.create_article(editor, title="How to reset your password", body="Open Settings and choose Reset password.",
                                visibility="public")
    kb.change_status(editor, article, "published")
    db.session.commit()  # indexing runs after the commit
    topic = make_topic(bot=True)
    page = client.get("/chat/widget").get_data(as_text=True)
    response = client.post("/chat/widget/start", data={"ticket": _ticket(page), "name": "Ida", "email": "ida@x.example",
                                                       "topic_id": topic.id, "message": "I forgot my password"})
    chat_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "How to reset your password" in chat_page and "Talk to a person" in chat_page
    chat = db.session.scalar(select(ChatSession).where(ChatSession.visitor_name == "Ida"))
    make_agent(group=topic.group)
    db.session.commit()
    client.post(f"/chat/widget/c/{chat.token}/human")
    db.session.refresh(chat)
    assert chat.status == ChatStatus.ASSIGNED and "How to reset your password" in chat.messages[1].body


def test_availability_answers_allowed_origins_only_and_the_frame_is_limited(client, make_topic):
    make_topic()
    allowed = client.get("/chat/widget/availability", headers={"Origin": "https://shop.example"})
    assert allowed.json == {"open": False, "topics": 1}
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    other = client.get("/chat/widget/availability", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    page = client.get("/chat/widget")
    assert page.headers["Content-Security-Policy"] == "frame-ancestors 'self' https://shop.example"
    script = client.get("/chat/widget/embed.js")
    assert script.mimetype == "application/javascript" and "/chat/widget/availability" in script.get_data(as_text=True)


def test_signed_in_portal_contact_is_recognised(client, make_topic, make_agent, make_contact, app):
    from portal import auth

    contact = make_contact(name="Paula Portal", email="paula@firm.example")
    contact.portal_enabled, contact.portal_session_token = True, "tok"
    topic = make_topic()
    make_agent(group=topic.group)
    db.session.commit()
    with app.test_request_context():
        from flask import make_response as mk

        cookie = auth.sign_in(mk(""), contact).headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
    client.set_cookie(auth.COOKIE, cookie)
    page = client.get("/chat/widget").get_data(as_text=True)
    assert "Signed in as <strong>Paula Portal</strong>" in page
    response = client.post("/chat/widget/start", data={"ticket": _ticket(page), "topic_id": topic.id, "message": "hi"})
    assert response.status_code == 302
    chat = db.session.scalar(select(ChatSession).where(ChatSession.contact_id == contact.id))
    assert chat.visitor_email == "paula@firm.example"


def test_a_file_from_the_visitor_reaches_the_agent(client, login, make_topic, make_agent, start, make_user):
    import io

    topic = make_topic()
    agent = make_agent(group=topic.group)
    chat = start(topic)
    db.session.commit()
    base = f"/chat/widget/c/{chat.token}"
    response = client.post(f"{base}/send", data={"body": "", "file": (io.BytesIO(b"order log 42"), "log.txt")},
                           content_type="multipart/form-data", headers={"HX-Request": "true"})
    assert response.status_code == 204
    db.session.refresh(chat)
    sent = chat.messages[-1]
    assert sent.filename == "log.txt"
    assert client.get(f"{base}/files/{sent.seq}").data == b"order log 42"
    assert client.get(f"/chat/widget/c/{chat.token}/files/1").status_code == 404  # a message without a file
    login(agent)
    download = client.get(f"/chat/{chat.id}/files/{sent.seq}")
    assert download.status_code == 200 and download.data == b"order log 42"
    assert "log.txt" in download.headers["Content-Disposition"]
