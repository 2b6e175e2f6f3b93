"""OpenAI-compatible HTTP API for our models: /v1/chat/completions (streamed or plain), /v1/models, /health.

A thin layer over model/service.py's ``ChatService`` (the same limits, safety layer and grounding
as the app): a clearly harmful request gets the safety layer's refusal as the reply
(finish_reason "content_filter") unless ``--no-refusal``; an emergency gets its notice (call
120 / 112 / 911) in front of the reply text; with ``--index DIR`` answers are grounded on that
document index. Every response carries an extra top-level ``medchat`` field (the openai client
exposes it as ``.model_extra["medchat"]``): the answer ``id``, the standing ``disclaimer``, the
``safety`` decision, the ``emergency_notice``, ``added_text.prefix`` (exactly what the server put
in front of the model's words, so a client can take it off again), the ``sources`` and, when the
context was shortened, ``context_notice``.

    python -m model.server --model artifacts/demo-model --port 8000 [--server-api-key KEY]
    python -m model.server --model Qwen/Qwen2.5-7B-Instruct --quant 4bit --served-model-name qwen7b
    python -m model.server --model artifacts/demo-model --index artifacts/indexes/sample-kb

Limits (model/limits.py, the app's too): message and conversation size (413), request body size
(413), max_tokens cap (400), a wall-clock generation timeout, ``--max-concurrent`` generations at
once with up to ``--max-queue`` requests waiting (429 with Retry-After beyond that). A client that
disconnects from a stream cancels its generation at the next token. Errors use OpenAI's JSON shape.
"""

from __future__ import annotations

import argparse
import hmac
import logging
import os
import time
from collections import Counter
from dataclasses import asdict

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from model.generate import GenerationError
from model.limits import ServingLimits, add_limit_args, limits_from_args
from model.records import public_name
from model.server_io import (
    OPENAI_FINISH,
    APIError,
    BackgroundServer,
    ChatRequest,
    Generation,
    Pump,
    Slots,
    chunk,
    completion,
    error_event,
    parse_request,
    read_body,
    request_messages,
    usage_chunk,
)
from model.service import ChatService, ServiceError, Turn
from model.turn import REASONING

__all__ = ["APIError", "BackgroundServer", "build_app", "main"]

log = logging.getLogger("medchat.server")

_STATUS = {"message_too_long": 413, "conversation_too_long": 413}  # other ServiceErrors are 400


def _api_error(err: ServiceError) -> APIError:
    code = None if err.code in ("message_empty", "invalid_conversation", "invalid_setting") else err.code
    return APIError(_STATUS.get(err.code, 400), err.message, param=err.param, code=code)


def medchat_field(service: ChatService, turn: Turn, prefix: str, suffix: str = "") -> dict:
    """Our extra response field: everything a client needs besides the text (see the docstring).
    ``triage`` is the triage model's answer when one came back (else None: no check is claimed)."""
    decision = turn.decision
    return {
        "id": turn.id,
        "disclaimer": service.disclaimer(turn.lang),
        "safety": decision.to_dict() if decision else None,
        "emergency_notice": turn.emergency_notice,
        "triage": decision.triage if decision else None,
        "added_text": {"prefix": prefix, "suffix": suffix},
        "sources": [asdict(s) for s in turn.sources],
    }


def triage_suffix(turn: Turn) -> str:
    """What the server puts after the reply when only the triage model saw an emergency."""
    return f"\n\n{turn.triage_notice}" if turn.triage_notice else ""


def finished_field(service: ChatService, turn: Turn, prefix: str) -> dict:
    """The ``medchat`` field's final state, sent once the turn finished (the triage model's
    opinion joined): with the finish reason and what was added after the reply."""
    extra = medchat_field(service, turn, prefix, triage_suffix(turn))
    return {**extra, "finish_reason": turn.finish_reason}


class _API:
    """The routes of one server; ``service`` applies the serving rules, this class the wire format."""

    def __init__(self, service: ChatService, model_id: str, api_key: str | None, index, top_k: int):
        self.service, self.limits = service, service.limits
        self.model_id, self.api_key, self.index, self.top_k = model_id, api_key, index, top_k
        self.finished: Counter = Counter()
        self.started = int(time.time())
        self._slots: Slots | None = None

    @property
    def slots(self) -> Slots:
        if self._slots is None:  # created on first use, inside the server's event loop
            self._slots = Slots(self.limits.max_concurrent, self.limits.max_queue)
        return self._slots

    def authorize(self, request: Request) -> None:
        if self.api_key is None:
            return
        header = request.headers.get("authorization", "")
        given = header[7:] if header.lower().startswith("bearer ") else ""
        if not given:
            raise APIError(
                401, "Missing API key: send 'Authorization: Bearer <key>'.", code="invalid_api_key"
            )
        if not hmac.compare_digest(given.encode(), self.api_key.encode()):
            raise APIError(401, "Incorrect API key.", code="invalid_api_key")

    async def health(self):
        return {
            "status": "ok",
            "model": public_name(self.model_id),  # the exact id is in /v1/models, behind the key
            "refusal": self.service.refuse_harmful,
            "index_chunks": None if self.index is None else len(self.index),
            "in_flight": self.slots.active,
            "queued": self.slots.waiting,
            "max_concurrent": self.limits.max_concurrent,
            "max_queue": self.limits.max_queue,
            "finished": dict(self.finished),
        }

    async def models(self, request: Request):
        self.authorize(request)
        card = {"id": self.model_id, "object": "model", "created": self.started, "owned_by": "medchat"}
        card["max_tokens"] = self.limits.max_new_tokens_cap  # the longest reply a request may ask for
        return {"object": "list", "data": [card]}

    async def begin(self, req: ChatRequest) -> Turn:
        if req.top_k and self.index is None:
            raise APIError(
                400, "This server has no document index (start it with --index DIR).", param="top_k"
            )
        try:
            settings = self.service.settings(
                req.temperature,
                req.top_p,
                req.max_completion_tokens or req.max_tokens,
                req.repetition_penalty,
            )
            k = self.top_k if req.top_k is None else req.top_k
            return await run_in_threadpool(self.service.begin, request_messages(req), settings, top_k=k)
        except ServiceError as err:
            raise _api_error(err) from None

    async def chat_completions(self, request: Request):
        self.authorize(request)
        body = await read_body(request, self.limits.max_request_bytes)
        req = parse_request(body, self.model_id, self.limits)
        turn = await self.begin(req)
        head = {"id": f"chatcmpl-{turn.id[4:]}", "created": int(time.time()), "model": self.model_id}
        include_usage = bool(req.stream_options and req.stream_options.include_usage)
        if turn.refused:  # answered by the safety layer, no generation
            self.finished["content_filter"] += 1
            extra = {**medchat_field(self.service, turn, ""), "finish_reason": "content_filter"}
            if req.stream:
                return Generation(_refusal_events(head, turn.reply, extra, include_usage), _nothing)
            return completion(head, turn.reply, "content_filter", (0, 0), extra)
        if not await self.slots.acquire():
            busy = APIError(
                429,
                "The server is busy: all generation slots and the queue are full. Retry shortly.",
                type_="rate_limit_error",
                code="server_busy",
            )
            return busy.response(headers={"Retry-After": "1"})
        return await self.generate(req, turn, head, include_usage)

    async def start(self, turn: Turn):
        """Start ``turn``'s generation in a worker thread; the slot is freed again on failure."""
        try:
            return await run_in_threadpool(turn.start)
        except BaseException as err:
            self.slots.release()
            if isinstance(err, ServiceError):
                raise _api_error(err) from None
            if isinstance(err, GenerationError):
                raise APIError(500, str(err), type_="server_error", code="generation_failed") from None
            raise

    async def generate(self, req: ChatRequest, turn: Turn, head: dict, include_usage: bool):
        """Generate the reply (holding a slot): streamed as events, or whole."""
        stream = await self.start(turn)
        prefix = turn.emergency_notice + "\n\n" if turn.emergency_notice else ""
        extra = medchat_field(self.service, turn, prefix)
        if turn.context_notice:
            extra["context_notice"] = turn.context_notice
        pump = Pump(stream)

        async def cleanup():
            await pump.aclose()
            self.slots.release()
            reason = turn.finish_reason or "cancelled"
            self.finished[reason] += 1
            tokens = (stream.stream.prompt_tokens, stream.stream.completion_tokens)
            log.info("reply %s: %s, %d+%d tokens", head["id"], reason, *tokens)

        if req.stream:
            events = _events(head, prefix, pump, self.service, turn, stream, extra, include_usage)
            return Generation(events, cleanup)
        try:
            async for _ in pump.pieces():
                pass  # the turn collects the reasoning and the answer
        except GenerationError as err:
            raise APIError(500, str(err), type_="server_error", code="generation_failed") from None
        finally:
            await cleanup()
        extra = {**extra, **finished_field(self.service, turn, prefix)}
        text = prefix + turn.reply + extra["added_text"]["suffix"]
        tokens = (stream.stream.prompt_tokens, stream.stream.completion_tokens)
        reason = OPENAI_FINISH[turn.finish_reason]
        return completion(head, text, reason, tokens, extra, reasoning=turn.reasoning.strip() or None)


def build_app(
    engine,
    model_id: str | None = None,
    api_key: str | None = None,
    refuse_harmful: bool = True,
    limits: ServingLimits | None = None,
    index=None,
    top_k: int = 3,
    triage=None,
) -> FastAPI:
    """The FastAPI app serving ``engine`` under the name ``model_id`` (default: ``engine.name``).

    ``api_key``: when set, /v1/* requests need ``Authorization: Bearer <api_key>``.
    ``refuse_harmful``: answer clearly harmful requests with the safety layer's refusal.
    ``index``: a retrieval index answers are grounded on, ``top_k`` sources each (a request's
    ``top_k`` field overrides it). ``triage``: a safety.triage.TriageCheck whose answer joins each
    answer record's safety decision (None: the rules alone decide)."""
    service = ChatService(engine, limits, index=index, refuse_harmful=refuse_harmful, triage=triage)
    api = _API(service, model_id or engine.name, api_key, index, top_k)
    app = FastAPI(title="medchat OpenAI-compatible API", docs_url=None, redoc_url=None)

    @app.exception_handler(APIError)
    async def _api_error_handler(request: Request, err: APIError):
        return err.response()

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, err: StarletteHTTPException):
        code = "not_found" if err.status_code == 404 else None
        return APIError(err.status_code, str(err.detail), code=code).response()

    app.get("/health")(api.health)
    app.get("/v1/models")(api.models)
    app.post("/v1/chat/completions")(api.chat_completions)
    app.state.service = service  # for tests and embedding
    return app


async def _nothing() -> None:
    """Cleanup of a refusal: it took no generation slot."""


async def _refusal_events(head, refusal: str, extra: dict, include_usage: bool):
    yield chunk(head, {"role": "assistant", "content": ""}, medchat=extra)
    yield chunk(head, {"content": refusal})
    yield chunk(head, {}, "content_filter", medchat={"finish_reason": "content_filter"})
    if include_usage:
        yield usage_chunk(head, 0, 0)
    yield "data: [DONE]\n\n"


async def _events(head, prefix, pump: Pump, service, turn: Turn, stream, extra: dict, include_usage: bool):
    """Server-sent events in OpenAI's chunk format: role (+ medchat field), the emergency notice
    first when there is one, the reply's pieces (reasoning as ``delta.reasoning_content``, the
    answer as ``delta.content``), a notice only the triage model raised, the finish chunk (with
    the final medchat field), usage if asked, [DONE]."""
    yield chunk(head, {"role": "assistant", "content": ""}, medchat=extra)
    if prefix:
        yield chunk(head, {"content": prefix})
    try:
        async for kind, text in pump.pieces():
            if text:  # not a held-back piece
                yield chunk(head, {"reasoning_content" if kind == REASONING else "content": text})
    except GenerationError as err:
        yield error_event(str(err))
        yield "data: [DONE]\n\n"
        return
    final = finished_field(service, turn, prefix)
    suffix = final["added_text"]["suffix"]
    if suffix:
        said = {k: final[k] for k in ("added_text", "emergency_notice", "triage")}
        yield chunk(head, {"content": suffix}, medchat=said)
    yield chunk(head, {}, OPENAI_FINISH[turn.finish_reason], medchat=final)
    if include_usage:
        yield usage_chunk(head, stream.stream.prompt_tokens, stream.stream.completion_tokens)
    yield "data: [DONE]\n\n"


def build_parser() -> argparse.ArgumentParser:
    """The server's flags: the model flags every command shares (model/engines.py), the serving
    limits the app shares (model/limits.py), and the server's own."""
    from model.engines import add_engine_args

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_engine_args(parser)
    add_limit_args(parser)
    server = parser.add_argument_group("server")
    server.add_argument("--host", default="127.0.0.1", help="interface to bind (0.0.0.0 exposes it)")
    server.add_argument("--port", type=int, default=8000)
    server.add_argument(
        "--served-model-name",
        default=None,
        help="the model id clients send (default: --api-model, or --model; a local folder by its name)",
    )
    server.add_argument(
        "--server-api-key",
        default=os.environ.get("MEDCHAT_API_KEY"),
        help="require 'Authorization: Bearer KEY' on /v1/* (default: $MEDCHAT_API_KEY, else open)",
    )
    server.add_argument("--no-refusal", action="store_true", help="answer clearly harmful requests too")
    server.add_argument("--index", default=None, help="ground every answer on this index folder")
    server.add_argument("--top-k", type=int, default=3, help="sources per grounded answer")
    from safety.triage import add_triage_args

    add_triage_args(parser)
    return parser


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    from model.engines import EngineArgsError, engine_from_args
    from model.load import ModelLoadError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        limits = limits_from_args(args)
    except ValueError as err:
        parser.error(str(err))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        engine = engine_from_args(args)
        index = _open_index(args.index) if args.index else None
        from safety.triage import triage_from_args

        triage = triage_from_args(args)
    except (EngineArgsError, ModelLoadError, ValueError) as err:
        raise SystemExit(f"error: {err}") from None
    model_id = args.served_model_name or args.api_model or public_name(args.model)
    app = build_app(
        engine,
        model_id,
        args.server_api_key,
        not args.no_refusal,
        limits,
        index=index,
        top_k=args.top_k,
        triage=triage,
    )
    log.info(
        "serving %s as %r on http://%s:%d/v1 (refusal %s, index %s, api key %s)",
        engine.describe(),
        model_id,
        args.host,
        args.port,
        "off" if args.no_refusal else "on",
        args.index or "none",
        "required" if args.server_api_key else "not required",
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")


def _open_index(folder: str):
    from retrieval.index import HybridIndex, RetrievalIndexError

    try:
        return HybridIndex.load(folder)
    except RetrievalIndexError as err:
        raise ValueError(f"could not open the index {folder}: {err}") from None


if __name__ == "__main__":
    main()
