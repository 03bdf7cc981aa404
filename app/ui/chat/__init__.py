"""The Chat tab: threads, streaming replies rendered as markdown, and the composer."""

from app.ui.chat.chat_tab import ChatTab

__all__ = ["ChatTab"]
