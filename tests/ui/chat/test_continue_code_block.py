"""Continue after Stop inside a fenced code block: the reply stays text + code, not all code.

Against the demo server in both dialects: the OpenAI-compatible one continues the partial reply
as a prefix (as llama.cpp does); the Gemini one, asked by a "continue" user turn, re-opens the
code block and repeats the unfinished line (as chat models do). Either way the stored reply is
the demo's whole answer, once, and the view paints one heading, one list, one code block.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.core.demo.text import compose_reply
from app.ui.async_bridge import signal_future
from app.ui.context import AppContext
from tests.ui.chat.helpers import chat_bodies, open_tab, wait_for_content

PROMPT = "Explain closures in Python"


@pytest.fixture(params=["demo-openai", "demo-gemini"])
def profile_id(request: pytest.FixtureRequest, app_ctx: AppContext) -> str:
    assert app_ctx.demo is not None
    profile = next(p for p in app_ctx.demo.profiles() if p.id == request.param)
    app_ctx.profile_list = [profile]
    app_ctx.active_profile_id = profile.id
    return str(request.param)


def test_continue_after_stop_inside_a_code_block(
    qtbot: QtBot, app_ctx: AppContext, profile_id: str, arun: Callable[..., Any]
) -> None:
    assert app_ctx.demo is not None
    demo = app_ctx.demo
    whole = compose_reply(PROMPT)

    async def scenario() -> None:
        tab = await open_tab(app_ctx, qtbot)
        model, view = tab.message_model, tab.message_view
        try:
            demo.token_rate = 150.0
            started = signal_future(tab.replyStarted)
            tab.composer.set_text(PROMPT)
            assert tab.send()
            reply_id = await started
            # Stop in the middle of the code block's first line.
            while "def summarize(" not in model.row(1).content:
                await wait_for_content(tab, 1, len(model.row(1).content) + 1)
            finished = signal_future(tab.replyFinished)
            tab.stop()
            assert await finished == reply_id
            partial = model.row(1).content
            assert "```python\n" in partial and partial.count("```") == 1, partial

            demo.token_rate = 0
            finished = signal_future(tab.replyFinished)
            assert tab.message_actions.continue_reply(reply_id)
            assert await finished == reply_id
            row = model.row(1)
            stored = await app_ctx.threads.get_message(reply_id)
            assert stored is not None and stored.status == "complete"
            # Valid Markdown, the block continued: the demo's answer once, nothing repeated.
            assert stored.content == whole == row.content
            assert stored.content.count("```") == 2

            view.settle()
            layout = view.row_layout(1)
            assert layout.body is not None
            # One code block holding the code alone; the heading and the closing line are text.
            (block,) = layout.code_blocks
            assert block.code.splitlines()[0] == "def summarize(text: str) -> str:"
            assert block.code.splitlines()[-1] == 'print(summarize("Explain closures in Python"))'
            text = "".join(doc.toPlainText() for doc in layout.body.docs)
            assert "Explain closures in Python" in text.splitlines()[0]
            assert text.rstrip().endswith("Let me know if you want a deeper dive into any of these points.")
            if profile_id == "demo-openai":
                assert chat_bodies(app_ctx)[-1]["messages"][-1] == {"role": "assistant", "content": partial}
        finally:
            await tab.aclose()

    arun(scenario(), timeout=30)
