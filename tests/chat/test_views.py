"""The agent console: pages, htmx partials, actions and who may do them."""
import pytest

from helpdesk.chat import services
from helpdesk.chat.models import ChatStatus
from helpdesk.extensions import db


@pytest.fixture
def waiting_chat(make_topic, make_group, start):
    group = make_group(name="Front desk")
    chat = start(make_topic(name="Orders", group=group), page_url="https://shop.example/checkout")
    return chat


def test_console_lists_waiting_chats_of_my_groups(client, login, make_user, waiting_chat):
    agent = make_user()
    agent.groups.append(waiting_chat.group)
    login(agent)
    page = client.get("/chat").get_data(as_text=True)
    assert "Vera Visitor" in page and "Nobody is waiting" not in page
    partial = client.get("/chat/lists", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert partial.lstrip().startswith('<div id="chat-lists"') and "Vera Visitor" in partial


def test_accept_send_and_end_through_the_console(client, login, make_user, waiting_chat):
    agent = make_user()
    agent.groups.append(waiting_chat.group)
    login(agent)
    page = client.get(f"/chat/{waiting_chat.id}").get_data(as_text=True)
    assert "shop.example/checkout" in page and "Accept" in page
    pane = client.post(f"/chat/{waiting_chat.id}/accept", headers={"HX-Request": "true"})
    assert pane.status_code == 200 and "joined the chat" in pane.get_data(as_text=True)
    assert client.post(f"/chat/{waiting_chat.id}/send", data={"body": "Hi Vera"}, headers={"HX-Request": "true"}).status_code == 204
    db.session.refresh(waiting_chat)
    assert waiting_chat.messages[-1].body == "Hi Vera" and waiting_chat.status == ChatStatus.ACTIVE
    response = client.post(f"/chat/{waiting_chat.id}/end")
    assert response.status_code == 302
    db.session.refresh(waiting_chat)
    assert waiting_chat.status == ChatStatus.ENDED


def test_an_agent_of_another_group_may_not_open_the_chat_but_a_manager_watches(client, login, make_user, waiting_chat):
    login(make_user())
    assert client.get(f"/chat/{waiting_chat.id}").status_code == 403
    assert client.post(f"/chat/{waiting_chat.id}/send", data={"body": "x"}).status_code == 403
    client.post("/logout")
    login(make_user(role="manager"))
    page = client.get(f"/chat/{waiting_chat.id}").get_data(as_text=True)
    assert "Watching" in page and 'name="body"' not in page


def test_make_case_from_the_console(client, login, make_user, waiting_chat):
    agent = make_user()
    agent.groups.append(waiting_chat.group)
    login(agent)
    response = client.post(f"/chat/{waiting_chat.id}/case")
    assert response.status_code == 302 and "/cases/" in response.headers["Location"]
    db.session.refresh(waiting_chat)
    assert waiting_chat.case.messages[0].body_text == "Hello, my printer is on fire"


def test_availability_form(client, login, make_user):
    agent = make_user()
    login(agent)
    assert client.post("/chat/availability", data={"status": "online", "capacity": "4"}).status_code == 302
    from helpdesk.chat.models import AgentAvailability

    row = db.session.get(AgentAvailability, agent.id)
    assert (row.status.value, row.capacity) == ("online", 4)
    bad = client.post("/chat/availability", data={"status": "online", "capacity": "99"}, headers={"HX-Request": "true"})
    assert bad.status_code == 422 and "1 to 20" in bad.get_data(as_text=True)


def test_topics_and_canned_replies_are_for_managers(client, login, make_user, make_group):
    login(make_user())
    assert client.get("/chat/topics").status_code == 403
    client.post("/logout")
    login(make_user(role="manager"))
    group = make_group(name="Billing team")
    assert client.post("/chat/topics", data={"name": "Billing", "group_id": group.id, "routing": "round_robin",
                                             "bot_enabled": "1", "active": "1"}).status_code == 302
    page = client.get("/chat/topics").get_data(as_text=True)
    assert "Billing" in page and "Round robin" in page
    assert client.post("/chat/topics", data={"name": ""}).status_code == 422
    assert client.post("/chat/canned", data={"title": "Greeting", "body": "Hello! How can I help?"}).status_code == 302
    assert "How can I help?" in client.get("/chat/canned").get_data(as_text=True)


def test_anonymous_is_sent_to_login(client):
    assert client.get("/chat").status_code == 302


def test_the_transcript_shows_in_the_contacts_one_view(client, login, make_user, waiting_chat):
    agent = make_user()
    agent.groups.append(waiting_chat.group)
    services.accept_chat(agent, waiting_chat)
    services.end_chat(agent, waiting_chat)
    login(agent)
    page = client.get(f"/contacts/{waiting_chat.contact_id}").get_data(as_text=True)
    assert f'<a href="/chat/{waiting_chat.id}">Chat with Vera Visitor</a>' in page
    transcript = client.get(f"/chat/{waiting_chat.id}").get_data(as_text=True)
    assert "Hello, my printer is on fire" in transcript and "ended the chat" in transcript
