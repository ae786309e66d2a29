"""Consultations of the draft programme: /consultation (admins: New, answers), the deep link
consultation-<id>, sections and Comment, /my_comments and /consultation_report <id>.

One module per flow: `new` (New), `comment` (Comment), `answers` (the admins' answers),
`reading` (the deep link, contents, the list and reports) and `steps`, what they share."""

from __future__ import annotations

from telegram.ext import CommandHandler, filters

from bot.context import App
from handlers.common import PRIVATE, PersonalButton
from handlers.consultations.answers import answer_flow
from handlers.consultations.comment import comment_flow
from handlers.consultations.new import new_flow
from handlers.consultations.reading import (
    my_comments,
    on_contents,
    on_manage,
    on_publish,
    on_queue,
    on_section,
    report,
    show_list,
    start_link,
)
from handlers.consultations.steps import CommentStep
from handlers.flow import Flows
from handlers.views import consultations as views

__all__ = ["CommentStep", "register"]


def register(app: App, flows: Flows) -> None:
    """Install /consultation, /my_comments, /consultation_report, the deep link, the buttons.

    Must run before handlers.start: the deep link is a /start with a `consultation-<id>` payload.
    """
    link = filters.Regex(r"^/start(@\w+)?\s+consultation-[0-9]{1,9}\s*$")
    app.add_handler(CommandHandler("start", start_link, filters=link & PRIVATE))
    app.add_handler(CommandHandler("consultation", show_list, PRIVATE))
    app.add_handler(CommandHandler("my_comments", my_comments, PRIVATE))
    app.add_handler(CommandHandler("consultation_report", report, PRIVATE))
    app.add_handler(PersonalButton(on_contents, pattern=views.Contents.pattern()))
    app.add_handler(PersonalButton(on_section, pattern=views.Read.pattern()))
    app.add_handler(PersonalButton(on_manage, pattern=views.Manage.pattern()))
    app.add_handler(PersonalButton(on_queue, pattern=views.AnswerQueue.pattern()))
    app.add_handler(PersonalButton(on_publish, pattern=views.Publish.pattern()))
    flows.add(app, new_flow())
    flows.add(app, comment_flow())
    flows.add(app, answer_flow())
