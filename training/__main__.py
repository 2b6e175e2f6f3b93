"""medchat training: one command per stage.

    python -m training STAGE --config recipes/STAGE/VARIANT.yaml [--key value ...]
    python -m training STAGE --help

Stages (each reads a recipe, then flags; saves model + config + metrics + data fingerprint):
  pt               continued pre-training on raw text (packed blocks)
  sft              supervised fine-tuning on dialogues, loss on assistant turns only
  rm               reward model on preference pairs
  rl               online RL against the reward model: --method grpo | rloo | rejection-sampling
  dpo              direct preference optimisation on preference pairs
  kto              KTO on unpaired thumbs-up/down answers (export-feedback --format kto)
  merge            fold a LoRA adapter into its base: --adapter DIR --out DIR
  demo             build the offline demo model (SmolLM2-135M + LoRA SFT, DPO on data/samples): [--out DIR] [--threads N]
  export-feedback  write the app's thumbs/pairwise feedback as preference pairs: --db FILE --out prefs.jsonl

Each stage starts from the previous stage's output (--from RUN_DIR, default <artifacts>/runs/<previous>)
unless --model (or --model_name_or_path) names a base model. --output_dir must be new, empty or an
earlier medchat run (--overwrite_output_dir writes into any folder). See docs/training.md.
"""

from __future__ import annotations

import importlib
import sys

# stage -> module whose main(argv) runs it (imported only when chosen: the trainers are heavy)
COMMANDS = {
    "pt": "training.pt",
    "sft": "training.sft",
    "rm": "training.rm",
    "rl": "training.rl",
    "dpo": "training.dpo",
    "kto": "training.kto",
    "merge": "training.merge",
    "demo": "training.demo",
    "export-feedback": "training.feedback",
}


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        raise SystemExit(0 if argv else 2)
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        raise SystemExit(f"unknown command {command!r}; choose from {', '.join(COMMANDS)}")
    from model.chat import ChatFormatError
    from model.load import ModelLoadError
    from training.common import StageError, setup_logging
    from training.data import DataFormatError

    setup_logging()
    module = importlib.import_module(COMMANDS[command])
    try:
        module.main(rest)
    except (
        StageError,
        ModelLoadError,
        DataFormatError,
        ChatFormatError,
        FileNotFoundError,
        FileExistsError,
    ) as err:
        # a problem with the user's input: say what and where, without a traceback
        raise SystemExit(f"error: {err}") from None


if __name__ == "__main__":
    main()
