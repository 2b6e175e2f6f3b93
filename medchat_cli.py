"""The `medchat` command: one front door to every medchat entry point (installed by `make install`,
or `pip install -e .`, as `.venv/bin/medchat`).

    medchat chat [--model M | --base-url URL --api-model NAME] [--port 7860]   # the Gradio app (app.py)
    medchat serve --model M [--port 8000]              # OpenAI-compatible API server (model/server.py)
    medchat train STAGE --config recipes/STAGE/x.yaml  # pt | sft | rm | rl | dpo | merge | demo | ...
    medchat eval TASK --model M --data ... --out DIR   # mcq | ner | dialogue | bias | judge | compare
    medchat datagen tasks|responses|stats ...          # AlpaCare-style MedInstruct generation
    medchat index build|query|add|info ...             # the retrieval index
    medchat safety "胸口疼得厉害"                        # the safety decision for one message, as JSON

Each subcommand is the module's own command line (`medchat eval ...` is `python -m evaluation ...`):
`medchat COMMAND --help` shows its flags. `python app.py` keeps working unchanged (Hugging Face Spaces).
"""

from __future__ import annotations

import importlib
import sys

# command -> (module whose main(argv) runs it, one-line help); modules are imported only when chosen
COMMANDS = {
    "chat": ("app", "the Gradio chat app (python app.py)"),
    "serve": ("model.server", "the OpenAI-compatible API server (python -m model.server)"),
    "train": (
        "training.__main__",
        "a training stage: pt, sft, rm, rl, dpo, merge, demo (python -m training)",
    ),
    "eval": ("evaluation.__main__", "an evaluation task or compare (python -m evaluation)"),
    "datagen": (
        "datagen.__main__",
        "MedInstruct data generation: tasks, responses, stats (python -m datagen)",
    ),
    "index": ("retrieval.__main__", "the retrieval index: build, query, add, info (python -m retrieval)"),
    "safety": (
        "safety.__main__",
        "check one message for emergencies and harmful requests (python -m safety)",
    ),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {help_text}" for name, (_, help_text) in COMMANDS.items()]
    return "usage: medchat COMMAND [ARGS...]\n\ncommands:\n" + "\n".join(lines) + "\n\n" + __doc__


def main(argv: list[str] | None = None) -> int:
    """Run ``medchat COMMAND ARGS...``: the command's own ``main(ARGS)``; returns its exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"medchat: unknown command {command!r}; choose from {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[command][0])
    sys.argv[0] = f"medchat {command}"  # the program name in the command's usage lines
    status = module.main(rest)
    return status if isinstance(status, int) else 0


if __name__ == "__main__":
    sys.exit(main())
