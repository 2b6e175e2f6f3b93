"""The error every model-loading step raises (model/load.py, model/gguf.py), in a module of its own
so that both can raise it without importing each other: ``from model.load import ModelLoadError``
still works everywhere."""


class ModelLoadError(RuntimeError):
    """A model that cannot be loaded, with a message that says why and what to do."""
