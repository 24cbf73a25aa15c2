"""Chat services: start, route, accept, transfer, end, rate, bot handover, offline form, case."""
import io

import pytest
from sqlalchemy import select

from helpdesk.cases.models import Channel, MessageKind
from helpdesk.chat import queries, services
from helpdesk.chat.models import ChatMessageKind, ChatStatus, Routing
from helpdesk.errors import PermissionDenied, ValidationFailed
from helpdesk.extensions import db
from helpdesk.mail.models import OutboundEmail


def test_start_routes_to_an_online_agent_of_the_topics_group(make_topic, make_agent, start, make_group):
    group = make_group()
    topic = make_topic(group=group)
    other = make_agent(group=make_group())  # online, but in another group
    agent = make_agent(group=group)
    chat = start(topic)
    assert chat.status == ChatStatus.ASSIGNED and chat.agent == agent
    assert other not in (chat.agent,)
    assert [m.body for m in chat.messages] == ["Hello, my printer is on fire"]
    assert chat.contact.email == "vera@visitor.example" and chat.messages[0].seq == 1


def test_known_contact_is_recognized_and_the_organization_kept(make_topic, make_agent, start, make_contact, make_organization):
    org = make_organization()
    contact = make_contact(email="known@firm.example", organization=org)
    chat = start(make_topic(), email="Known@Firm.example")
    assert chat.contact == contact and chat.organization_id == org.id


def test_queue_position_and_wait_when_agents_are_full(make_topic, make_agent, start, make_group):
    group = make_group()
    topic = make_topic(group=group)
    make_agent(group=group, capacity=1)
    first, second, third = start(topic), start(topic, email="b@x.example"), start(topic, email="c@x.example")
    assert first.status == ChatStatus.ASSIGNED
    assert (second.status, third.status) == (ChatStatus.QUEUED, ChatStatus.QUEUED)
    assert services.queue_position(second) == 1 and services.queue_position(third) == 2
    assert services.expected_wait(third) > services.expected_wait(second) > 0


def test_round_robin_alternates_between_agents(make_topic, make_agent, start, make_group, clock):
    group = make_group()
    topic = make_topic(group=group, routing=Routing.ROUND_ROBIN)
    a, b = make_agent(group=group), make_agent(group=group)
    owners = []
    for i in range(4):
        clock.advance(seconds=5)
        owners.append(start(topic, email=f"v{i}@x.example").agent)
    assert owners[0] != owners[1] and owners[0] == owners[2] and owners[1] == owners[3]
    assert {a, b} == set(owners)


def test_accept_send_end_keeps_figures_and_leaves_the_transcript_on_the_contact(
        make_topic, make_agent, start, make_group, clock, make_organization, make_contact):
    group = make_group()
    org = make_organization()
    make_contact(email="vera@org.example", organization=org)
    agent = make_agent(group=group)
    chat = start(make_topic(group=group), email="vera@org.example")
    clock.advance(seconds=40)
    services.accept_chat(agent, chat)
    clock.advance(seconds=20)
    services.send_agent_message(agent, chat, "Let me help")
    services.send_visitor_message(chat, "Thanks")
    clock.advance(minutes=5)
    services.end_chat(agent, chat)
    db.session.flush()
    assert (chat.wait_seconds, chat.first_response_seconds, chat.duration_seconds) == (40, 60, 360)
    assert not chat.missed and not chat.abandoned and chat.transfers == 0
    kinds = [m.kind for m in chat.messages]
    assert kinds == [ChatMessageKind.VISITOR, ChatMessageKind.SYSTEM, ChatMessageKind.AGENT, ChatMessageKind.VISITOR,
                     ChatMessageKind.SYSTEM]
    assert [m.seq for m in chat.messages] == [1, 2, 3, 4, 5]
    from helpdesk.people import queries as people_queries

    timeline = people_queries.timeline(chat.contact, show=["chats"]).events
    assert [(e.kind, e.obj) for e in timeline] == [("chat", chat)]
    assert [e.obj for e in people_queries.timeline(organization=org, show=["chats"]).events] == [chat]
    assert queries.chats_for_contact(chat.contact_id) == [chat]
    assert queries.chats_for_organization(org.id) == [chat]
    services.rate_chat(chat, "5", "Quick and kind")
    assert (chat.rating, chat.rating_comment) == (5, "Quick and kind")
    with pytest.raises(ValidationFailed) as err:
        services.rate_chat(chat, "9")
    assert "rating" in err.value.errors
    with pytest.raises(ValidationFailed):
        services.send_visitor_message(chat, "hello?")


def test_a_visitor_who_leaves_while_waiting_is_missed_and_abandoned(make_topic, start, clock):
    chat = start(make_topic())
    assert chat.status == ChatStatus.QUEUED
    clock.advance(minutes=10)
    services.end_abandoned()
    assert chat.status == ChatStatus.ENDED and chat.missed and chat.abandoned and chat.wait_seconds == 600


def test_unaccepted_chat_goes_back_to_the_queue_and_counts_a_miss(make_topic, make_agent, start, make_group, clock, app):
    group = make_group()
    agent = make_agent(group=group, capacity=1)
    chat = start(make_topic(group=group))
    assert chat.agent == agent
    services.set_availability(agent, "away")
    clock.advance(seconds=app.config["CHAT_ACCEPT_SECONDS"] + 1)
    services.reroute_unaccepted()
    assert chat.status == ChatStatus.QUEUED and chat.agent is None and chat.missed_count == 1


def test_transfer_to_an_agent_and_to_a_group(make_topic, make_agent, start, make_group):
    sales, support = make_group(name="Sales desk"), make_group(name="Support desk")
    first = make_agent(group=sales)
    chat = start(make_topic(group=sales))
    services.accept_chat(first, chat)
    colleague = make_agent(group=sales)
    services.transfer_chat(first, chat, agent=colleague)
    assert (chat.agent, chat.status, chat.transfers) == (colleague, ChatStatus.ASSIGNED, 1)
    with pytest.raises(PermissionDenied):
        services.accept_chat(first, chat)
    services.accept_chat(colleague, chat)
    helper = make_agent(group=support)
    services.transfer_chat(colleague, chat, group=support)
    assert (chat.group_id, chat.agent, chat.status, chat.transfers) == (support.id, helper, ChatStatus.ASSIGNED, 2)
    notes = [m.body for m in chat.messages if m.kind == ChatMessageKind.SYSTEM]
    assert f"{first.name} transferred the chat to {colleague.name}." in notes
    assert f"{colleague.name} transferred the chat to Support desk." in notes


def test_bot_answers_then_hands_over_to_a_person_with_the_conversation(make_topic, make_agent, start, make_group):
    group = make_group()
    agent = make_agent(group=group)
    services.bot_answer_providers.append(
        lambda topic, q, lang: [services.BotAnswer("Reset your password", "/help/reset")] if "password" in q else [])
    try:
        chat = start(make_topic(group=group, bot=True), message="I forgot my password")
        assert chat.status == ChatStatus.BOT and chat.agent is None
        answer = chat.messages[-1]
        assert answer.kind == ChatMessageKind.BOT and answer.links == [{"title": "Reset your password", "url": "/help/reset"}]
        services.send_visitor_message(chat, "something else entirely")
        assert "found nothing" in chat.messages[-1].body
        services.request_human(chat)
        assert chat.status == ChatStatus.ASSIGNED and chat.agent == agent
        assert [m.kind for m in chat.messages][:3] == [ChatMessageKind.VISITOR, ChatMessageKind.BOT, ChatMessageKind.VISITOR]
    finally:
        services.bot_answer_providers.pop()


def test_bot_resolved_chat(make_topic, start):
    chat = start(make_topic(bot=True), message="")
    services.resolve_by_bot(chat)
    assert chat.status == ChatStatus.ENDED and chat.bot_resolved and not chat.missed


def test_attachment_goes_to_the_store(make_topic, make_agent, start, make_group):
    group = make_group()
    agent = make_agent(group=group)
    chat = start(make_topic(group=group))
    message = services.send_agent_message(agent, chat, "", services.Upload("manual.pdf", io.BytesIO(b"%PDF-1.4 manual")))
    assert message.filename == "manual.pdf" and message.blob.size == 15
    assert queries.message_by_seq(chat.id, message.seq) == message


def test_start_refuses_bad_input_naming_the_field(make_topic):
    with pytest.raises(ValidationFailed) as err:
        services.start_chat(None, name="", email="not-an-address", topic=None)
    assert set(err.value.errors) == {"name", "email", "topic"}


def test_offline_message_makes_a_case_for_the_topics_group(make_topic, make_group):
    group = make_group()
    topic = make_topic(name="Billing", group=group)
    case = services.leave_offline_message(None, name="Olga", email="olga@night.example", topic=topic,
                                          message="Please call me back about invoice 12", page_url="https://shop.example/cart")
    db.session.flush()
    assert case.channel == Channel.CHAT and case.group == group and case.subject.startswith("Billing: Please call me")
    assert case.contact.email == "olga@night.example"
    assert case.messages[0].kind == MessageKind.CUSTOMER and "shop.example/cart" in case.messages[0].body_text


def test_availability_follows_business_hours_and_online_agents(make_topic, make_agent, make_group, clock):
    from helpdesk.sla.services import save_business_hours

    group = make_group()
    hours = save_business_hours(None, None, name="Office", timezone="UTC",
                                weekly={str(d): [["09:00", "17:00"]] for d in range(5)}, holidays=[])
    topic = make_topic(group=group, hours=hours)
    assert services.topic_availability(topic).reason == "no_agents"
    make_agent(group=group)
    assert services.topic_availability(topic).open
    clock.advance(hours=10)  # 20:00
    assert services.topic_availability(topic).reason == "closed"


def test_chat_becomes_a_case_with_its_transcript_and_its_wait_counts_for_the_sla(
        make_topic, make_agent, start, make_group, clock):
    from helpdesk.sla.services import save_policy

    group = make_group()
    save_policy(None, None, {"name": "Chat SLA", "is_default": True,
                             "targets": {"2": {"first_response": "10", "resolution": "480"}}})
    agent = make_agent(group=group)
    chat = start(make_topic(group=group), message="My order never arrived")
    queued_at = chat.queued_at
    clock.advance(minutes=15)  # the visitor waited longer than the 10 minute target
    services.send_agent_message(agent, chat, "Sorry! Let me check.")
    services.send_visitor_message(chat, "Order 991")
    case = services.convert_to_case(agent, chat)
    db.session.flush()
    db.session.refresh(case)
    assert case.channel == Channel.CHAT and chat.case == case and case.created_at == queued_at
    assert [(m.kind, m.body_text) for m in case.messages] == [
        (MessageKind.CUSTOMER, "My order never arrived"),
        (MessageKind.REPLY, "Sorry! Let me check."),
        (MessageKind.CUSTOMER, "Order 991"),
    ]
    assert case.first_response_at == chat.first_response_at
    from helpdesk.sla.models import SLAEvent

    events = db.session.scalars(select(SLAEvent).where(SLAEvent.case_id == case.id)).all()
    assert any(e.kind == "breached" and e.clock == "first_response" for e in events)
    with pytest.raises(ValidationFailed):
        services.convert_to_case(agent, chat)


def test_email_transcript_queues_one_mail(make_topic, start, app):
    chat = start(make_topic())
    services.email_transcript(chat)
    services.email_transcript(chat)
    db.session.flush()
    mails = db.session.scalars(select(OutboundEmail)).all()
    assert len(mails) == 1 and "my printer is on fire" in mails[0].body_text and mails[0].to_addrs == "vera@visitor.example"


def test_the_sweep_job_reroutes_and_ends_and_is_registered(make_topic, make_agent, start, make_group, clock, app):
    from helpdesk.chat.jobs import sweep_chats
    from helpdesk.jobs import periodic_jobs

    assert "helpdesk.chat.jobs.sweep_chats" in [p.name for p in periodic_jobs(app)]
    group = make_group()
    agent = make_agent(group=group, capacity=1)
    routed = start(make_topic(group=group))
    services.set_availability(agent, "away")
    clock.advance(minutes=10)
    assert sweep_chats() == {"rerouted": 1, "abandoned": 1}
    assert routed.status == ChatStatus.ENDED and routed.missed_count == 1 and routed.abandoned
    assert sweep_chats() == {"rerouted": 0, "abandoned": 0}
