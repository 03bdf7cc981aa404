"""The Chat tab: threads, streaming replies rendered as markdown, and the composer.

The package is cut the way the tab looks (as Anki cuts its browser), so a change to one part of
the screen touches one sub-package:

    chat_tab.py            the tab widget: builds the parts below and wires their signals
    thread_settings.py     the thread settings controller (params, persona, system prompt)
    thread_settings_panel.py, params_form.py   its panel and form widgets
    thread_draft.py        the pure draft records (ThreadSettings, Outgoing, stop parsing; no Qt)
    personas.py            the persona manager and dialog
    profile_banner.py      the banner of a thread whose profile is gone
    sidebar/               the left column
        thread_list.py, thread_model.py   the thread list (model/view) with undo
        search_panel.py                   search box and results
        sidebar_controller.py             what the list's actions do (open, rename, delete...)
        export_actions.py                 export and import of threads
    messages/              the transcript
        message_view.py       the view: keys, context menu, clipboard, scrolling
        message_delegate.py   sizing, painting and hit-testing of each row
        documents.py          the cached rendered documents (streamed, paged)
        row_text.py           what a row says (footers, status notes, labels, tooltips)
        message_model.py      the rows (ChatRow) as a Qt model
        message_rules.py      what a message offers (pure; the view and the actions use it)
        message_actions.py    the per-message actions (regenerate, edit, delete, versions...)
        reply_stream.py       the streams of the tab's replies, written into the model
        markdown_render.py    markdown -> HTML (offline, highlighted)
        completion_view.py    the raw-completion thread's view
    composer/              the input at the bottom
        composer.py, attachments.py, attachment_flow.py

The thread settings stay at the top: they reach across the parts (the composer's
attachments, the transcript, the model picker). reply_stream sits in messages/: it writes into
the message model and view, and message_actions drives it (in the tab's package it would make
an import cycle between messages/ and the package).

`ChatTab` is loaded on first use, so importing a small module of this package (e.g.
sidebar.export_actions) does not pull in the whole tab.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.ui.chat.chat_tab import ChatTab

__all__ = ["ChatTab"]


def __getattr__(name: str) -> Any:
    if name == "ChatTab":
        from app.ui.chat.chat_tab import ChatTab

        return ChatTab
    raise AttributeError(name)
