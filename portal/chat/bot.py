"""The FAQ bot's answers: the knowledge base's articles and FAQ entries a visitor may see."""
from __future__ import annotations

from flask import Flask, current_app, url_for

from helpdesk.chat import services as chat_services


def kb_answers(topic, question: str, language: str | None) -> list[chat_services.BotAnswer]:
    if "knowledge_base" not in current_app.extensions:
        return []
    from knowledge_base.queries import Viewer, search

    results = search(question, viewer=Viewer.public(), language=language, kinds=("article", "faq"), limit=3, log=False)
    answers = []
    for hit in results.hits:
        if hit.kind == "article":
            url = url_for("help.article", article_id=hit.id, slug=hit.slug, _external=True)
            answers.append(chat_services.BotAnswer(hit.title, url, hit.summary or ""))
        else:
            url = url_for("help.index", _external=True) + f"#faq-{hit.id}"
            answer = (hit.faq.answer if hit.faq is not None else "").strip()
            answers.append(chat_services.BotAnswer(hit.title, url, answer[:300]))
    return answers


def init_app(app: Flask) -> None:
    if kb_answers not in chat_services.bot_answer_providers:
        chat_services.bot_answer_providers.append(kb_answers)
