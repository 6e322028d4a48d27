"""A streaming client for OpenAI-compatible chat completion endpoints (OpenAI, vLLM, Ollama, llama.cpp...).

`POST {base_url}/chat/completions` with `stream: true` answers with server-sent events, each
`data: {"choices": [{"delta": {"content": "..."}}]}`, then `data: [DONE]`. `LlmClient.stream()` yields
the content pieces as they arrive. Every failure (refused connection, HTTP error, an `error` object in
the stream, a body that is not an event stream) is raised as one `LlmError` with a readable reason.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Literal

import httpx
import httpx_sse

from console import jsonvalue
from console.jsonvalue import JsonObject, JsonValue

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class ChatTurn:
    role: Role
    content: str

    def json(self) -> JsonObject:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True, slots=True)
class LlmConfig:
    base_url: str  # e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1
    model: str
    api_key: str | None = None  # local servers often need none: no Authorization header then
    temperature: float | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 120.0  # between two pieces of the stream, not for the whole answer

    @property
    def completions_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/chat/completions"


class LlmError(Exception):
    """The model could not answer; the message says why, for the user to read."""


def request_body(config: LlmConfig, messages: Sequence[ChatTurn]) -> JsonObject:
    body: JsonObject = {
        "model": config.model,
        "stream": True,
        "messages": [turn.json() for turn in messages],
    }
    if config.temperature is not None:
        body["temperature"] = config.temperature
    return body


def delta_content(data: str) -> str | None:
    """The text of one streamed event's `choices[0].delta.content`, if it has any.

    Raises LlmError for an `error` object (some servers report failures inside the stream).
    """
    try:
        value = jsonvalue.loads(data)
    except jsonvalue.JsonDecodeError as exc:
        raise LlmError(f"the model's stream carried malformed JSON: {exc}") from None
    if not isinstance(value, dict):
        return None
    error = value.get("error")
    if error is not None:
        raise LlmError(f"the model reported an error: {_error_text(error)}")
    choices = value.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return None  # e.g. a usage-only event
    delta = choices[0].get("delta")
    if not isinstance(delta, dict):
        return None
    content = delta.get("content")
    return content if isinstance(content, str) else None


def _error_text(error: JsonValue) -> str:
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    return jsonvalue.dumps(error)


class LlmClient:
    def __init__(self, config: LlmConfig) -> None:
        self.config = config
        timeout = httpx.Timeout(config.read_timeout, connect=config.connect_timeout)
        self._http = httpx.AsyncClient(timeout=timeout)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def stream(self, messages: Sequence[ChatTurn]) -> AsyncGenerator[str, None]:
        """The model's reply, piece by piece as it streams."""
        headers = {"Content-Type": "application/json"}
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        body = jsonvalue.dumps_bytes(request_body(self.config, messages))
        url = self.config.completions_url
        try:
            async with httpx_sse.aconnect_sse(
                self._http, "POST", url, content=body, headers=headers
            ) as source:
                response = source.response
                if response.status_code != 200:
                    detail = (await response.aread()).decode("utf-8", "replace")
                    raise LlmError(f"{url} answered HTTP {response.status_code}: {_http_detail(detail)}")
                async for event in source.aiter_sse():
                    if event.data.strip() == "[DONE]":
                        return
                    content = delta_content(event.data)
                    if content:
                        yield content
                # Every compatible server ends with [DONE]; without it the answer may be cut short.
                raise LlmError("the model's stream ended before [DONE]")
        except httpx_sse.SSEError as exc:
            raise LlmError(f"{url} did not answer with an event stream: {exc}") from None
        except httpx.HTTPError as exc:
            raise LlmError(f"{url} could not be reached: {type(exc).__name__}: {exc}") from None


def _http_detail(body: str) -> str:
    try:
        value = jsonvalue.loads(body)
    except jsonvalue.JsonDecodeError:
        return body[:300] or "(empty body)"
    if isinstance(value, dict) and "error" in value:
        return _error_text(value["error"])
    return body[:300]
