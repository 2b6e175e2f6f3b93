"""The chat app's page: header lines, the settings column, the chat, and the event wiring.
Library module (app.py ``build_demo`` calls ``build_blocks``).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import gradio as gr

from retrieval.ingest import SUPPORTED_SUFFIXES
from ui.files import DocumentsAndFiles
from ui.handlers import ChatHandlers

EXAMPLES = [
    "高血压患者饮食上要注意什么？",
    "孩子发烧38.5度，需要马上去医院吗？",
    "What are the common side effects of metformin?",
    "How can I tell a common cold from the flu?",
]


@dataclass
class PageDefaults:
    """What the page shows and starts with (from the app's flags)."""

    header: str  # disclaimer banner (markdown)
    status: str  # model, knowledge base and logging lines (markdown)
    temperature: float
    top_p: float
    max_new_tokens: int
    max_new_tokens_cap: int
    repetition_penalty: float
    top_k: int
    upload_max_mb: float
    grounding: bool  # an index is there to ground on


def make_chatbot(**kwargs) -> gr.Chatbot:
    """The chat window: markdown rendered and sanitized, no custom tags kept (answers and sources
    arrive inert from ui/messages.py; the page's Content-Security-Policy blocks remote images)."""
    return gr.Chatbot(label="medchat", height=560, elem_id="chatbot", allow_tags=False, **kwargs)


def _settings_column(d: PageDefaults) -> SimpleNamespace:
    c = SimpleNamespace()
    with gr.Accordion("Generation settings", open=False):
        c.temperature = gr.Slider(0, 2, value=d.temperature, step=0.05, label="temperature (0 = greedy)")
        c.top_p = gr.Slider(0.05, 1, value=d.top_p, step=0.05, label="top_p")
        c.max_new_tokens = gr.Slider(
            1, d.max_new_tokens_cap, value=d.max_new_tokens, step=1, label="max_new_tokens"
        )
        c.repetition_penalty = gr.Slider(
            0.8, 2, value=d.repetition_penalty, step=0.05, label="repetition_penalty"
        )
    with gr.Accordion("Grounding on documents", open=d.grounding, visible=d.grounding):
        c.grounding = gr.Checkbox(value=d.grounding, label="Answer from the knowledge base")
        c.top_k = gr.Slider(1, 10, value=d.top_k, step=1, label="sources per answer (top-k)")
        c.uploads = gr.File(
            label=f"Add documents to this session ({', '.join(SUPPORTED_SUFFIXES)}; ≤ {d.upload_max_mb:g} MB each)",
            file_count="multiple",
            file_types=list(SUPPORTED_SUFFIXES),
        )
        c.upload_status = gr.Markdown()
    with gr.Accordion("Compare answers (feedback)", open=False):
        gr.Markdown("Regenerate the last answer and pick the better one: your choice trains the model.")
        c.compare_btn = gr.Button("Regenerate to compare")
        c.compare_status = gr.Markdown()
        c.answer_a = gr.Textbox(label="A (current answer)", lines=4, interactive=False)
        c.answer_b = gr.Textbox(label="B (new answer)", lines=4, interactive=False)
        with gr.Row():
            c.prefer_a = gr.Button("A is better", interactive=False)
            c.prefer_b = gr.Button("B is better", interactive=False)
    with gr.Accordion("Conversation", open=False):
        c.export_btn = gr.Button("Export as JSON")
        c.export_file = gr.File(label="exported conversation", interactive=False)
        c.import_btn = gr.UploadButton("Import JSON", file_types=[".json"])
    return c


def _wire(c: SimpleNamespace, chat: gr.ChatInterface, handlers: ChatHandlers, files: DocumentsAndFiles):
    """Connect the buttons, thumbs and uploads to their handlers (stable API names for tests)."""
    state = chat.chatbot_state
    sampling = [c.temperature, c.top_p, c.max_new_tokens, c.repetition_penalty]
    # queue=False: a quick database write; also reachable as POST /gradio_api/run/rate (tests).
    chat.chatbot.like(
        handlers.rate, [state, c.answers], None, api_name="rate", api_visibility="undocumented", queue=False
    )
    c.compare_btn.click(
        handlers.compare,
        [state, c.answers, *sampling],
        [c.answer_a, c.answer_b, c.compare_status, c.pending, c.prefer_a, c.prefer_b],
        api_name="compare",
    )
    for button, choice in ((c.prefer_a, "A"), (c.prefer_b, "B")):
        button.click(
            lambda h, a, p, choice=choice: handlers.pick(choice, h, a, p),
            [state, c.answers, c.pending],
            [chat.chatbot, state, c.answers, c.pending, c.compare_status, c.prefer_a, c.prefer_b],
            api_name=f"prefer_{choice.lower()}",
        )
    c.uploads.upload(
        files.add_documents, [c.uploads, c.answers], [c.upload_status, c.answers], api_name="add_documents"
    )
    c.export_btn.click(
        files.export_conversation, [state, c.answers], c.export_file, api_name="export_conversation"
    )
    c.import_btn.upload(
        files.import_conversation,
        c.import_btn,
        [chat.chatbot, state, c.answers],
        api_name="import_conversation",
    )


def build_blocks(d: PageDefaults, handlers: ChatHandlers, files: DocumentsAndFiles) -> gr.Blocks:
    """The page: title, disclaimer banner, status line, settings column and the chat."""
    # Gradio's own cache (uploads, and the copies of exports it serves): files older than a day
    # are deleted every hour.
    with gr.Blocks(title="medchat", delete_cache=(3600, 86400)) as demo:
        gr.Markdown("# medchat")
        gr.Markdown(d.header, elem_id="disclaimer")
        gr.Markdown(d.status, elem_id="status-line")
        with gr.Row():
            with gr.Column(scale=1, min_width=260):
                c = _settings_column(d)
            c.answers, c.pending = gr.State({}), gr.State(None)
            with gr.Column(scale=3):
                chat = gr.ChatInterface(
                    handlers.respond,
                    chatbot=make_chatbot(),
                    textbox=gr.Textbox(
                        placeholder="问一个健康问题 / Ask a health question", elem_id="chat-input"
                    ),
                    additional_inputs=[
                        c.temperature,
                        c.top_p,
                        c.max_new_tokens,
                        c.repetition_penalty,
                        c.grounding,
                        c.top_k,
                        c.answers,
                    ],  # fmt: skip
                    additional_outputs=[c.answers],
                    examples=[[e] for e in EXAMPLES],
                    api_name="chat",
                    fill_height=False,
                )
        _wire(c, chat, handlers, files)
        demo.unload(files.release)  # the tab closed: its uploaded documents are freed at once
    return demo
