"""medchat model layer: loading (load.py), chat formatting (chat.py), the one streaming generation
path (generate.py), an OpenAI-compatible client engine (client.py) and server (server.py)."""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def artifacts_dir() -> Path:
    """Base folder for generated artifacts (demo model, indexes, feedback databases, runs).

    ``MEDCHAT_HOME`` moves it; the default is ``<repo>/artifacts`` (git-ignored)."""
    return Path(os.environ.get("MEDCHAT_HOME", REPO_ROOT / "artifacts")).expanduser()
