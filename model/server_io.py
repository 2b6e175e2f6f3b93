"""The wire side of model/server.py: OpenAI's request and error shapes, server-sent events, the
generation slots (concurrency + queue), the thread pump that streams a blocking generation into
the event loop, and a background uvicorn server for tests. Library module (no command of its own).
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time

import anyio
from fastapi import Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field, ValidationError

from model.limits import ServingLimits

# LocalEngine's finish reasons -> OpenAI's: a reply cut by the time limit is cut like one at
# max_tokens ("length"); the real reason is in medchat.finish_reason.
OPENAI_FINISH = {"stop": "stop", "length": "length", "timeout": "length", "cancelled": "stop"}


class APIError(Exception):
    """An error answered in OpenAI's shape ``{"error": {"message", "type", "param", "code"}}``."""

    def __init__(
        self, status: int, message: str, type_: str = "invalid_request_error", param=None, code=None
    ):
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type_, param, code

    def response(self, headers: dict | None = None) -> JSONResponse:
        body = {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}
        return JSONResponse(body, status_code=self.status, headers=headers)


class _Part(BaseModel):
    type: str = "text"
    text: str | None = None


class _Message(BaseModel):
    role: str
    content: str | list[_Part] | None = None


class _StreamOptions(BaseModel):
    include_usage: bool = False


class ChatRequest(BaseModel):
    """The subset of OpenAI's chat-completions request this server honours; other fields are ignored.
    ``top_k`` (an extra field, like vLLM's ``repetition_penalty``) sets how many sources ground the
    answer on a server started with ``--index``; 0 turns grounding off for the request."""

    model: str
    messages: list[_Message]
    stream: bool = False
    temperature: float | None = Field(None, ge=0, le=2, allow_inf_nan=False)
    top_p: float | None = Field(None, gt=0, le=1, allow_inf_nan=False)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    n: int = 1
    stream_options: _StreamOptions | None = None
    repetition_penalty: float | None = Field(None, gt=0, allow_inf_nan=False)
    top_k: int | None = Field(None, ge=0, le=20)


def message_text(content) -> str:
    """A request message's text: the string, or its text parts joined by newlines."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "\n".join(p.text or "" for p in content if p.type == "text")


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused (413) as soon as it passes ``limit`` bytes: never read whole into memory."""
    too_large = APIError(
        413, f"The request body is over the limit of {limit} bytes.", code="request_too_large"
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > limit:
            raise too_large
    return bytes(body)


MAX_JSON_DEPTH = 32  # arrays and objects inside one another; a chat request needs 4


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows (send a finite number)")


def check_json_tree(data) -> None:
    """Refuse nesting deeper than ``MAX_JSON_DEPTH`` and any string (key or value) that is not valid
    Unicode text (a lone surrogate such as ``\\ud800``), naming where it is."""
    stack = [(data, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise APIError(
                    400, f"The request is nested more than {MAX_JSON_DEPTH} levels deep (at '{path}')."
                )
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                where = f"{path}.{key}" if path else str(key)
                if isinstance(key, str):
                    _check_text(key, where)
                stack.append((item, where, depth + 1))
        elif isinstance(value, str):
            _check_text(value, path)


def _check_text(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise APIError(
            400,
            f"'{where}' is not valid Unicode text: a lone surrogate (U+{ord(text[err.start]):04X}) at "
            f"character {err.start}.",
            param=where,
            code="invalid_text",
        ) from None


def parse_request(body: bytes, model_id: str, limits: ServingLimits) -> ChatRequest:
    try:
        data = json.loads(body, parse_constant=_no_constant)
    except RecursionError:
        raise APIError(400, f"The request is nested more than {MAX_JSON_DEPTH} levels deep.") from None
    except (ValueError, UnicodeDecodeError) as err:  # JSONDecodeError is a ValueError
        raise APIError(400, f"The request body is not valid JSON: {err}") from None
    check_json_tree(data)
    try:
        req = ChatRequest.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        param = ".".join(str(p) for p in first["loc"])
        raise APIError(400, f"Invalid '{param}': {first['msg']}.", param=param) from None
    if req.model != model_id:
        raise APIError(
            404,
            f"The model '{req.model}' does not exist; this server serves '{model_id}'.",
            param="model",
            code="model_not_found",
        )
    if req.n != 1:
        raise APIError(400, "Only n=1 is supported.", param="n")
    if not req.messages:
        raise APIError(400, "'messages' must contain at least one message.", param="messages")
    if len(req.messages) > limits.max_messages:
        raise APIError(
            413,
            f"{len(req.messages)} messages; the limit is {limits.max_messages}.",
            param="messages",
            code="conversation_too_long",
        )
    return req


def request_messages(req: ChatRequest) -> list[dict[str, str]]:
    """The request's messages as ``{role, content}`` text (``developer`` is a system message)."""
    messages = []
    for i, m in enumerate(req.messages):
        role = "system" if m.role == "developer" else m.role
        if role not in ("system", "user", "assistant"):
            raise APIError(
                400,
                f"messages[{i}]: unsupported role '{m.role}'; use system, user or assistant.",
                param=f"messages.{i}.role",
            )
        messages.append({"role": role, "content": message_text(m.content)})
    return messages


class Slots:
    """At most ``max_concurrent`` generations; up to ``max_queue`` requests wait, the rest are refused."""

    def __init__(self, max_concurrent: int, max_queue: int):
        self.max_concurrent, self.max_queue = max_concurrent, max_queue
        self.active = 0
        self.waiting = 0
        self._sem = asyncio.Semaphore(max_concurrent)

    async def acquire(self) -> bool:
        if self.active + self.waiting >= self.max_concurrent + self.max_queue:
            return False
        self.waiting += 1
        try:
            await self._sem.acquire()
        finally:
            self.waiting -= 1
        self.active += 1
        return True

    def release(self) -> None:
        self.active -= 1
        self._sem.release()


class Pump:
    """Runs a blocking stream (a TurnStream: its ``parts()``, ``(kind, text)`` pairs) in a worker
    thread and hands its pieces to the event loop.

    ``aclose`` cancels generation and waits for the worker, so the slot is freed only once the
    model really stopped."""

    _END = object()

    def __init__(self, stream):
        self.stream = stream
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue = asyncio.Queue()
        self.finished = self.loop.create_future()
        self.error: BaseException | None = None
        threading.Thread(target=self._work, daemon=True).start()

    def _call(self, fn, *args) -> None:
        try:
            self.loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the event loop is gone (server shutting down)
            pass

    def _work(self) -> None:
        try:
            for piece in self.stream.parts():
                self._call(self.queue.put_nowait, piece)
        except BaseException as err:  # GenerationError and the like, re-raised in the loop
            self.error = err
        self._call(self.queue.put_nowait, self._END)
        self._call(lambda: self.finished.done() or self.finished.set_result(None))

    async def pieces(self):
        while True:
            piece = await self.queue.get()
            if piece is self._END:
                if self.error is not None:
                    raise self.error
                return
            yield piece

    async def aclose(self) -> None:
        self.stream.cancel()
        with anyio.CancelScope(shield=True):
            await asyncio.wait_for(asyncio.shield(self.finished), timeout=30)


class Generation(StreamingResponse):
    """A streamed reply whose cleanup (cancel generation, free the slot) runs however the response
    ends: finished, client gone, or never started."""

    def __init__(self, content, cleanup):
        super().__init__(content, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
        self._cleanup = cleanup

    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await self._cleanup()


def sse(obj) -> str:
    return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n"


def usage(prompt_tokens: int, completion_tokens: int) -> dict:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def completion(
    head, text: str, finish_reason: str, tokens: tuple[int, int], extra: dict, reasoning: str | None = None
) -> JSONResponse:
    """A whole (non-streamed) chat completion carrying our ``medchat`` field; ``reasoning`` goes in
    ``message.reasoning_content`` (as vLLM's and DeepSeek's APIs send it; null when none)."""
    message = {"role": "assistant", "content": text, "reasoning_content": reasoning}
    choice = {"index": 0, "message": message, "finish_reason": finish_reason}
    body = {**head, "object": "chat.completion", "choices": [choice], "usage": usage(*tokens)}
    return JSONResponse({**body, "medchat": extra})


def chunk(head, delta: dict, finish_reason=None, **more) -> str:
    choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
    return sse({**head, "object": "chat.completion.chunk", "choices": [choice], **more})


def usage_chunk(head, prompt_tokens: int, completion_tokens: int) -> str:
    body = {**head, "object": "chat.completion.chunk", "choices": []}
    return sse({**body, "usage": usage(prompt_tokens, completion_tokens)})


def error_event(message: str) -> str:
    error = {"message": message, "type": "server_error", "param": None, "code": "generation_failed"}
    return sse({"error": error})


class BackgroundServer:
    """Serve an ASGI app with uvicorn in a daemon thread on ``host``:``port`` (0 = a free port).

    For tests and notebooks: ``with BackgroundServer(app) as srv: OpenAI(base_url=srv.url + "/v1")``."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0):
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((host, port))
        self.host, self.port = host, self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the background server did not start")
            time.sleep(0.01)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
