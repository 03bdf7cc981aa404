"""ChatAccumulator: folding deltas into one ChatResult."""

from __future__ import annotations

from app.core.protocol.chat_accumulator import ChatAccumulator
from app.core.protocol.types import ChatDelta, ChatResult, Choice, ToolCall, ToolCallDelta, Usage


def fold(*deltas: ChatDelta) -> ChatResult:
    acc = ChatAccumulator()
    acc.add_all(list(deltas))
    return acc.result()


def test_empty_accumulator() -> None:
    result = ChatAccumulator().result()
    assert result == ChatResult()
    assert result.text == "" and result.finish_reason is None


def test_content_reasoning_and_refusal_kept_apart() -> None:
    result = fold(
        ChatDelta(reasoning="Think", id="r1", model="m"),
        ChatDelta(reasoning="ing."),
        ChatDelta(content="Ans"),
        ChatDelta(content="wer", finish_reason="stop"),
    )
    assert result == ChatResult(
        id="r1",
        model="m",
        choices=[Choice(index=0, content="Answer", reasoning="Thinking.", finish_reason="stop")],
    )


def test_refusal() -> None:
    result = fold(ChatDelta(refusal="I can't"), ChatDelta(refusal=" do that."))
    assert result.choices[0].refusal == "I can't do that."
    assert result.text == ""


def test_choices_merged_by_index_and_ordered() -> None:
    result = fold(
        ChatDelta(index=1, content="b1"),
        ChatDelta(index=0, content="a1"),
        ChatDelta(index=2, content="c1"),
        ChatDelta(index=0, content="a2", finish_reason="stop"),
        ChatDelta(index=1, content="b2", finish_reason="length"),
    )
    assert [(c.index, c.content, c.finish_reason) for c in result.choices] == [
        (0, "a1a2", "stop"),
        (1, "b1b2", "length"),
        (2, "c1", None),
    ]


def test_tool_calls_merged_by_tool_index() -> None:
    result = fold(
        ChatDelta(
            tool_calls=[ToolCallDelta(index=0, id="call_a", type="function", name="get_weather")]
        ),
        ChatDelta(tool_calls=[ToolCallDelta(index=0, arguments='{"city": ')]),
        ChatDelta(tool_calls=[ToolCallDelta(index=1, id="call_b", name="now", arguments="{")]),
        ChatDelta(
            tool_calls=[
                ToolCallDelta(index=0, arguments='"Oslo"}'),
                ToolCallDelta(index=1, arguments="}"),
            ]
        ),
        ChatDelta(finish_reason="tool_calls"),
    )
    (choice,) = result.choices
    assert choice.tool_calls == [
        ToolCall(
            index=0, id="call_a", type="function", name="get_weather", arguments='{"city": "Oslo"}'
        ),
        ToolCall(index=1, id="call_b", type="function", name="now", arguments="{}"),
    ]
    assert choice.finish_reason == "tool_calls"


def test_tool_name_repeated_on_every_fragment_is_kept_once() -> None:
    result = fold(
        ChatDelta(tool_calls=[ToolCallDelta(index=0, name="lookup", arguments="{")]),
        ChatDelta(tool_calls=[ToolCallDelta(index=0, name="lookup", arguments="}")]),
    )
    assert result.choices[0].tool_calls[0].name == "lookup"
    assert result.choices[0].tool_calls[0].arguments == "{}"


def test_usage_only_delta_creates_no_choice_and_latest_usage_wins() -> None:
    result = fold(
        ChatDelta(index=0, content="Hi", usage=Usage(1, 1, 2)),
        ChatDelta(
            usage=Usage(prompt_tokens=9, completion_tokens=2, total_tokens=11, reasoning_tokens=0)
        ),
    )
    assert len(result.choices) == 1
    assert result.usage == Usage(9, 2, 11, 0)


def test_usage_only_stream_has_usage_and_no_choices() -> None:
    result = fold(ChatDelta(usage=Usage(5, 0, 5), model="m"))
    assert result.choices == []
    assert result.usage == Usage(5, 0, 5)
    assert result.model == "m"


def test_role_only_delta_registers_its_choice() -> None:
    result = fold(ChatDelta(index=0), ChatDelta(index=1, content="x"))
    assert [c.index for c in result.choices] == [0, 1]
    assert result.choices[0].content == ""


def test_result_mid_stream_then_more() -> None:
    acc = ChatAccumulator()
    acc.add(ChatDelta(content="Hel"))
    assert acc.result().text == "Hel"
    acc.add(ChatDelta(content="lo"))
    assert acc.result().text == "Hello"


def test_many_fragments() -> None:
    acc = ChatAccumulator()
    for i in range(50_000):
        acc.add(ChatDelta(content=str(i % 10)))
    text = acc.result().text
    assert len(text) == 50_000
    assert text[:12] == "012345678901"
