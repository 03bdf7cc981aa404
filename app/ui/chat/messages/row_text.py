"""What a message row says besides its body: footers, status notes, button labels, tooltips.

Pure functions of a `ChatRow` (no painting), so what the user reads is tested without a screen
and the delegate and the view say the same thing.
"""

from __future__ import annotations

from app.ui.chat.messages.message_model import ChatRow
from app.ui.chat.messages.message_rules import (
    ACTION_SHORTCUTS,
    can_continue,
)

__all__ = [
    "BUTTON_LABELS",
    "CODE_COPIED_LABEL",
    "CODE_COPY_LABEL",
    "FINISH_SENTENCES",
    "TOOLTIPS",
    "dropped_note",
    "finish_sentence",
    "footer_text",
    "inline_buttons",
    "status_note",
    "tooltip",
]

CODE_COPY_LABEL = "Copy"
CODE_COPIED_LABEL = "Copied ✓"


# Inline buttons under a reply (action -> label).
BUTTON_LABELS = {
    "retry": "↻ Retry",
    "continue": "▸ Continue",
    "regenerate": "↻ Regenerate",
    # Under a reply whose text could not be saved (ChatRow.unsaved).
    "copy_text": "Copy text",
    "save_text": "Save as…",
    "more": "▾ Show more",
}
# Sentences for finish reasons other than "stop" (shown in the footer).
FINISH_SENTENCES = {
    "length": "stopped at the length limit",
    "max_tokens": "stopped at the length limit",
    "content_filter": "The provider's content filter stopped this reply; the text above may be incomplete.",
    "safety": "The model's safety filter stopped this reply; the text above may be incomplete.",
    "recitation": "Stopped because the reply was repeating published text; the text above may be incomplete.",
    "tool_calls": "The model asked to call a tool, which this chat does not run.",
}


def finish_sentence(reason: str | None) -> str:
    """What an unusual finish reason means, for the footer ("" for a normal stop)."""
    if not reason or reason == "stop":
        return ""
    return FINISH_SENTENCES.get(reason.lower(), f"finished early ({reason})")


def footer_text(row: ChatRow) -> str:
    """The per-reply statistics line: time to first token, speed, usage, unusual finish.

    While a reply with n > 1 choices streams it says how many alternatives are streaming.
    """
    if row.role != "assistant":
        return ""
    if row.is_streaming:
        if row.alternatives_streaming:
            return f"{row.alternatives_streaming + 1} alternatives streaming"
        return ""
    parts: list[str] = []
    if row.ttft_ms is not None:
        parts.append(f"first token {row.ttft_ms:,.0f} ms")
    if row.tokens_per_s:
        parts.append(f"{row.tokens_per_s:,.1f} tok/s")
    usage = row.usage
    if usage is not None:
        if usage.prompt_tokens is not None or usage.completion_tokens is not None:
            parts.append(
                f"{usage.prompt_tokens or 0:,} in · {usage.completion_tokens or 0:,} out tokens"
            )
        elif usage.total_tokens is not None:
            parts.append(f"{usage.total_tokens:,} tokens")
    if row.status == "complete":
        sentence = finish_sentence(row.finish_reason)
        if sentence:
            parts.append(sentence)
    return " · ".join(parts)


def status_note(row: ChatRow) -> str:
    if row.unsaved and row.content:
        return "⚠ Not saved — this text is shown here in full only; copy it or save it to a file."
    if row.status == "cancelled":
        return "■ Stopped — you cancelled this reply; the text above is partial."
    if row.status == "interrupted":
        if row.error:  # cut off by the provider or the network, not by a crash of the app
            return "⚠ Incomplete — the connection ended before the reply finished."
        return "⚠ Interrupted — the app closed while this reply was streaming."
    return ""


def dropped_note(row: ChatRow) -> str:
    """The muted note above a reply whose request left older turns out ("" when none were)."""
    n = row.dropped_turns
    if row.role != "assistant" or n <= 0:
        return ""
    if n == 1:
        return "1 older turn was left out to fit the model's context window"
    return f"{n:,} older turns were left out to fit the model's context window"


def inline_buttons(row: ChatRow) -> list[str]:
    """Buttons painted under a reply that did not finish normally (besides an error's Retry)."""
    if row.role != "assistant" or row.is_streaming:
        return []
    if row.status == "error":
        saving = ["copy_text", "save_text"] if row.unsaved and row.content else []
        return saving + ["retry"] + (["continue"] if can_continue(row) else [])
    if row.status == "interrupted":
        return (["continue"] if can_continue(row) else []) + ["regenerate"]
    if can_continue(row):
        return ["continue", "regenerate"] if row.status == "cancelled" else ["continue"]
    return []


TOOLTIPS = {
    "copy": "Copy this message as markdown",
    "save_note": "Save this message as a note in the Notes tab",
    "edit": "Edit and resend as a new branch",
    "regenerate": "Ask for another reply (a new version)",
    "continue": "Ask the model to continue this reply",
    "delete": "Delete this message and everything below it",
    "prev": "Previous version",
    "next": "Next version",
    "reasoning": "Show or hide the model's reasoning",
    "copy_code": "Copy this code block",
    "retry": "Ask again",
    "copy_text": "Copy the text of this reply (it could not be saved)",
    "save_text": "Save the text of this reply to a file (it could not be saved)",
}


def tooltip(action: str) -> str:
    tip = TOOLTIPS.get(action, "")
    shortcut = ACTION_SHORTCUTS.get(action)
    if tip and shortcut:
        tip += f" ({shortcut})"
    return tip
