"""OpenAI-compatible HTTP API for our models: /v1/chat/completions (streamed or plain), /v1/models, /health.

Every reply goes through model/generate.py's ``LocalEngine`` (the one generation path, with
model/chat.py's template and context-window fitting) and, unless ``--no-safety``, through
model/safety.py: a clearly harmful request gets the safety layer's refusal as the reply
(finish_reason "content_filter"), an emergency gets its notice (call 120 / 112 / 911) before the
answer, and every response carries an extra top-level ``medchat`` field with the standing
disclaimer and the safety decision (the openai client exposes it as ``.model_extra["medchat"]``).

    python -m model.server --model artifacts/demo-model --port 8000 [--host 127.0.0.1] [--api-key KEY]
    python -m model.server --model Qwen/Qwen2.5-7B-Instruct --quant 4bit --served-model-name qwen7b

Limits (all flags): message and conversation size (413), request body size (413), max_tokens cap
(400), a wall-clock generation timeout, ``--max-concurrent`` generations at once with up to
``--max-queue`` requests waiting (429 with Retry-After beyond that). A client that disconnects
from a stream cancels its generation at the next token. Errors use OpenAI's JSON shape
``{"error": {"message", "type", "param", "code"}}``.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import logging
import socket
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from model.chat import ChatFormatError, PromptTooLong
from model.generate import GenerationError, GenerationSettings, LocalEngine
from model.safety import check as safety_check
from model.safety import detect_language, disclaimer

log = logging.getLogger("medchat.server")

# LocalEngine's finish reasons -> OpenAI's: a reply cut by the time limit is cut like one at
# max_tokens ("length"); the real reason is in medchat.finish_reason.
_OPENAI_FINISH = {"stop": "stop", "length": "length", "timeout": "length", "cancelled": "stop"}


@dataclass
class ServerLimits:
    """Per-request and server-wide limits (the defaults suit one CPU or one GPU)."""

    max_message_chars: int = 8_000  # one message, characters
    max_conversation_chars: int = 32_000  # all messages of a request together, characters
    max_messages: int = 100  # messages in one request
    max_request_bytes: int = 1_000_000  # raw JSON body
    max_new_tokens: int = 2_048  # highest max_tokens a request may ask for
    default_max_tokens: int = 512  # when the request gives none
    timeout_s: float = 120.0  # wall-clock limit on one generation, seconds
    max_concurrent: int = 1  # generations running at once
    max_queue: int = 16  # requests waiting for a generation slot; more get 429


class APIError(Exception):
    """An error answered in OpenAI's shape."""

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
    """The subset of OpenAI's chat-completions request this server honours; other fields are ignored."""

    model: str
    messages: list[_Message]
    stream: bool = False
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    n: int = 1
    stream_options: _StreamOptions | None = None
    repetition_penalty: float | None = Field(None, gt=0)  # vLLM's extra parameter


class _Slots:
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


class _Pump:
    """Runs a blocking TextStream in a worker thread and hands its pieces to the event loop.

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
            for piece in self.stream:
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


class _Generation(StreamingResponse):
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


def _text(content) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "\n".join(p.text or "" for p in content if p.type == "text")


def _sse(obj) -> str:
    return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n"


def build_app(
    engine: LocalEngine,
    model_id: str | None = None,
    api_key: str | None = None,
    safety: bool = True,
    limits: ServerLimits | None = None,
) -> FastAPI:
    """The FastAPI app serving ``engine`` under the name ``model_id`` (default: ``engine.name``).

    ``api_key``: when set, /v1/* requests need ``Authorization: Bearer <api_key>``.
    ``safety``: run model/safety.py on the last user message (refusals, emergency notices)."""
    limits = limits or ServerLimits()
    model_id = model_id or engine.name
    app = FastAPI(title="medchat OpenAI-compatible API", docs_url=None, redoc_url=None)
    state = {"slots": None, "finished": Counter(), "started": int(time.time())}

    def slots() -> _Slots:
        # Created on first use, inside the server's event loop.
        if state["slots"] is None:
            state["slots"] = _Slots(limits.max_concurrent, limits.max_queue)
        return state["slots"]

    @app.exception_handler(APIError)
    async def _api_error(request: Request, err: APIError):
        return err.response()

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, err: StarletteHTTPException):
        code = "not_found" if err.status_code == 404 else None
        return APIError(err.status_code, str(err.detail), code=code).response()

    def authorize(request: Request) -> None:
        if api_key is None:
            return
        header = request.headers.get("authorization", "")
        given = header[7:] if header.lower().startswith("bearer ") else ""
        if not given:
            raise APIError(
                401, "Missing API key: send 'Authorization: Bearer <key>'.", code="invalid_api_key"
            )
        if not hmac.compare_digest(given.encode(), api_key.encode()):
            raise APIError(401, "Incorrect API key.", code="invalid_api_key")

    @app.get("/health")
    async def health():
        s = slots()
        return {
            "status": "ok",
            "model": model_id,
            "safety": safety,
            "in_flight": s.active,
            "queued": s.waiting,
            "max_concurrent": limits.max_concurrent,
            "max_queue": limits.max_queue,
            "finished": dict(state["finished"]),
        }

    @app.get("/v1/models")
    async def models(request: Request):
        authorize(request)
        card = {"id": model_id, "object": "model", "created": state["started"], "owned_by": "medchat"}
        return {"object": "list", "data": [card]}

    async def read_body(request: Request) -> bytes:
        """The raw body, refused (413) as soon as it passes the limit: never read whole into memory."""
        too_large = APIError(
            413,
            f"The request body is over the limit of {limits.max_request_bytes} bytes.",
            code="request_too_large",
        )
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limits.max_request_bytes:
            raise too_large
        body = bytearray()
        async for part in request.stream():
            body += part
            if len(body) > limits.max_request_bytes:
                raise too_large
        return bytes(body)

    async def parse(request: Request) -> ChatRequest:
        body = await read_body(request)
        try:
            data = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise APIError(400, f"The request body is not valid JSON: {err}") from None
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

    def to_messages(req: ChatRequest) -> list[dict[str, str]]:
        messages, total = [], 0
        for i, m in enumerate(req.messages):
            role = "system" if m.role == "developer" else m.role
            if role not in ("system", "user", "assistant"):
                raise APIError(
                    400,
                    f"messages[{i}]: unsupported role '{m.role}'; use system, user or assistant.",
                    param=f"messages.{i}.role",
                )
            text = _text(m.content)
            if len(text) > limits.max_message_chars:
                raise APIError(
                    413,
                    f"messages[{i}] is {len(text)} characters; the limit is {limits.max_message_chars}.",
                    param=f"messages.{i}.content",
                    code="message_too_long",
                )
            total += len(text)
            messages.append({"role": role, "content": text})
        if total > limits.max_conversation_chars:
            raise APIError(
                413,
                f"The conversation is {total} characters; the limit is {limits.max_conversation_chars}.",
                param="messages",
                code="conversation_too_long",
            )
        if messages[-1]["role"] != "user":
            raise APIError(400, "The last message must come from the user.", param="messages")
        if not messages[-1]["content"].strip():
            raise APIError(
                400, "The last user message is empty.", param=f"messages.{len(messages) - 1}.content"
            )
        return messages

    def to_settings(req: ChatRequest) -> GenerationSettings:
        max_tokens = (
            req.max_completion_tokens
            or req.max_tokens
            or min(limits.default_max_tokens, limits.max_new_tokens)
        )
        if max_tokens > limits.max_new_tokens:
            raise APIError(
                400,
                f"max_tokens {max_tokens} is over this server's limit of {limits.max_new_tokens}.",
                param="max_tokens",
            )
        defaults = GenerationSettings()
        return GenerationSettings(
            max_new_tokens=max_tokens,
            temperature=defaults.temperature if req.temperature is None else req.temperature,
            top_p=defaults.top_p if req.top_p is None else req.top_p,
            repetition_penalty=req.repetition_penalty or defaults.repetition_penalty,
            timeout_s=limits.timeout_s,
        )

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request):
        authorize(request)
        req = await parse(request)
        messages = to_messages(req)
        settings = to_settings(req)
        user_text = messages[-1]["content"]
        decision = safety_check(user_text) if safety else None
        lang = decision.lang if decision else detect_language(user_text)
        extra = {"disclaimer": disclaimer(lang), "safety": decision.to_dict() if decision else None}
        head = {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": model_id}
        include_usage = bool(req.stream_options and req.stream_options.include_usage)

        if decision is not None and decision.refuse:  # answered by the safety layer, no generation
            state["finished"]["content_filter"] += 1
            extra["finish_reason"] = "content_filter"
            if req.stream:
                return StreamingResponse(
                    _refusal_events(head, decision.refusal, extra, include_usage),
                    media_type="text/event-stream",
                )
            return _completion(head, decision.refusal, "content_filter", (0, 0), extra)

        prefix = decision.notice + "\n\n" if decision is not None and decision.emergency else ""
        if not await slots().acquire():
            busy = APIError(
                429,
                "The server is busy: all generation slots and the queue are full. Retry shortly.",
                type_="rate_limit_error",
                code="server_busy",
            )
            return busy.response(headers={"Retry-After": "1"})
        try:
            prompt, stream = await run_in_threadpool(engine.stream_chat, messages, settings)
        except PromptTooLong as err:
            slots().release()
            raise APIError(400, str(err), param="messages", code="context_length_exceeded") from None
        except ChatFormatError as err:
            slots().release()
            raise APIError(400, str(err), param="messages") from None
        except BaseException:
            slots().release()
            raise
        if prompt.notice:
            extra["context_notice"] = prompt.notice
        pump = _Pump(stream)
        outcome = {"reason": None}

        async def cleanup():
            await pump.aclose()
            slots().release()
            state["finished"][outcome["reason"] or "cancelled"] += 1
            log.info(
                "reply %s: %s, %d+%d tokens",
                head["id"],
                outcome["reason"] or "cancelled",
                stream.prompt_tokens,
                stream.completion_tokens,
            )

        if req.stream:
            return _Generation(_events(head, prefix, pump, stream, extra, include_usage, outcome), cleanup)
        try:
            text = prefix + "".join([piece async for piece in pump.pieces()])
            outcome["reason"] = stream.finish_reason
        except GenerationError as err:
            outcome["reason"] = "error"
            raise APIError(500, str(err), type_="server_error", code="generation_failed") from None
        finally:
            await cleanup()
        extra["finish_reason"] = stream.finish_reason
        usage = (stream.prompt_tokens, stream.completion_tokens)
        return _completion(head, text, _OPENAI_FINISH[stream.finish_reason], usage, extra)

    return app


def _usage(prompt_tokens: int, completion_tokens: int) -> dict:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def _completion(head, text: str, finish_reason: str, usage: tuple[int, int], extra: dict) -> JSONResponse:
    return JSONResponse(
        {
            **head,
            "object": "chat.completion",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": finish_reason,
                }
            ],
            "usage": _usage(*usage),
            "medchat": extra,
        }
    )


def _chunk(head, delta: dict, finish_reason=None, **more) -> str:
    choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
    return _sse({**head, "object": "chat.completion.chunk", "choices": [choice], **more})


async def _refusal_events(head, refusal: str, extra: dict, include_usage: bool):
    yield _chunk(head, {"role": "assistant", "content": ""}, medchat=extra)
    yield _chunk(head, {"content": refusal})
    yield _chunk(head, {}, "content_filter", medchat={"finish_reason": "content_filter"})
    if include_usage:
        yield _sse({**head, "object": "chat.completion.chunk", "choices": [], "usage": _usage(0, 0)})
    yield "data: [DONE]\n\n"


async def _events(head, prefix: str, pump: _Pump, stream, extra: dict, include_usage: bool, outcome: dict):
    """Server-sent events in OpenAI's chunk format: role (+ medchat field), the emergency notice
    first when there is one, the reply's pieces, the finish chunk, usage if asked, [DONE]."""
    yield _chunk(head, {"role": "assistant", "content": ""}, medchat=extra)
    if prefix:
        yield _chunk(head, {"content": prefix})
    try:
        async for piece in pump.pieces():
            yield _chunk(head, {"content": piece})
    except GenerationError as err:
        outcome["reason"] = "error"
        yield _sse(
            {
                "error": {
                    "message": str(err),
                    "type": "server_error",
                    "param": None,
                    "code": "generation_failed",
                }
            }
        )
        yield "data: [DONE]\n\n"
        return
    outcome["reason"] = stream.finish_reason
    yield _chunk(
        head, {}, _OPENAI_FINISH[stream.finish_reason], medchat={"finish_reason": stream.finish_reason}
    )
    if include_usage:
        usage = _usage(stream.prompt_tokens, stream.completion_tokens)
        yield _sse({**head, "object": "chat.completion.chunk", "choices": [], "usage": usage})
    yield "data: [DONE]\n\n"


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


def main(argv: list[str] | None = None) -> None:
    import os

    import uvicorn

    from model.load import ModelLoadError, add_model_args, load_from_args

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_model_args(parser)
    d = ServerLimits()
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to bind (0.0.0.0 exposes it to the network)"
    )
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--api-key",
        default=os.environ.get("MEDCHAT_API_KEY"),
        help="require 'Authorization: Bearer KEY' on /v1/* (default: $MEDCHAT_API_KEY, else open)",
    )
    parser.add_argument(
        "--served-model-name", default=None, help="the model id clients send (default: the --model string)"
    )
    parser.add_argument(
        "--no-safety",
        action="store_true",
        help="skip model/safety.py (only for trusted prompts, e.g. datagen); the disclaimer field stays",
    )
    parser.add_argument("--max-concurrent", type=int, default=d.max_concurrent, help="generations at once")
    parser.add_argument("--max-queue", type=int, default=d.max_queue, help="requests waiting; more get 429")
    parser.add_argument("--timeout", type=float, default=d.timeout_s, help="seconds per generation")
    parser.add_argument(
        "--max-new-tokens", type=int, default=d.max_new_tokens, help="highest max_tokens allowed"
    )
    parser.add_argument("--max-message-chars", type=int, default=d.max_message_chars)
    parser.add_argument("--max-conversation-chars", type=int, default=d.max_conversation_chars)
    args = parser.parse_args(argv)
    if not args.model:
        parser.error("--model is required (a local folder or a Hugging Face id)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        engine = LocalEngine(load_from_args(args))
    except ModelLoadError as err:
        raise SystemExit(f"error: {err}") from None
    limits = ServerLimits(
        max_message_chars=args.max_message_chars,
        max_conversation_chars=args.max_conversation_chars,
        max_new_tokens=args.max_new_tokens,
        timeout_s=args.timeout,
        max_concurrent=args.max_concurrent,
        max_queue=args.max_queue,
    )
    model_id = args.served_model_name or args.model
    app = build_app(engine, model_id, args.api_key, safety=not args.no_safety, limits=limits)
    log.info(
        "serving %s as %r on http://%s:%d/v1 (safety %s, api key %s)",
        engine.describe(),
        model_id,
        args.host,
        args.port,
        "off" if args.no_safety else "on",
        "required" if args.api_key else "not required",
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
