"""A flush tick's calls: one message each, straight into the page's outbox, in order."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from nicegui import ui
from nicegui.testing import User

from console.ui import wire


async def test_a_call_is_one_message_at_once_and_nothing_once_its_element_is_gone(
    user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[ui.label] = []

    @ui.page("/wire")
    def page() -> None:
        made.append(ui.label("x"))

    await user.open("/wire")
    label = made[0]
    outbox = label.client.outbox
    sent: list[tuple[str, object]] = []
    original = outbox.enqueue_message

    def record(message_type: str, data: object, target_id: str) -> None:
        sent.append((message_type, data))
        original(message_type, data, target_id)

    monkeypatch.setattr(outbox, "enqueue_message", record)
    tasks = len(asyncio.all_tasks())
    wire.call(label, "show", [1, 'say "hi"'], {"k": None})
    wire.run_js(label, "acText([])")
    # Enqueued now, in order, with no task started for a reply nobody awaits.
    assert [kind for kind, _ in sent] == ["run_javascript", "run_javascript"]
    assert len(asyncio.all_tasks()) == tasks
    code = [data["code"] for _, data in sent if isinstance(data, dict)]
    assert code[1] == "acText([])"
    prefix = f'runMethod({label.id},"show",'
    assert code[0].startswith(prefix)
    assert orjson.loads(code[0][len(prefix) : -1]) == [[1, 'say "hi"'], {"k": None}]
    label.delete()
    wire.call(label, "show")
    assert len(sent) == 2
