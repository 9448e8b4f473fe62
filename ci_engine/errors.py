"""User-facing errors: each message says what was wrong and how to fix it."""


class InterrogatorError(Exception):
    """A problem the user can fix. The CLI prints it without a traceback."""


class ModelNotFoundError(InterrogatorError):
    """A model name is unknown, or its files are not where we looked."""


class OfflineError(InterrogatorError):
    """A model is not available locally and may not be downloaded."""


class InputError(InterrogatorError):
    """An image, folder, list or setting given by the user is unusable."""


class DownloadError(InterrogatorError):
    """A model that exists could not be downloaded (network, disk, or the hub)."""


class CaptionError(InterrogatorError):
    """A caption model failed while writing captions; the message names the model and the failure."""
