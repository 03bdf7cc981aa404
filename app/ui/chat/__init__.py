"""The Chat tab: threads, streaming replies rendered as markdown, and the composer.

`ChatTab` is loaded on first use, so importing a small module of this package (e.g.
export_actions) does not pull in the whole tab.
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
