"""ci_engine: image to Stable Diffusion prompt, at output parity with clip-interrogator 0.6.0.

A plain library (no ComfyUI import)::

    from ci_engine import Interrogator, Settings, load_clip, load_caption_model
    clip = load_clip("ViT-L-14/openai")
    ci = Interrogator(clip, load_caption_model("blip-large"), Settings())
    print(ci.best([image])[0].prompt)
"""

from .caption import Captioner, load_caption_model
from .clip_bundle import ClipBundle
from .clip_loader import load_clip
from .errors import InputError, InterrogatorError, ModelNotFoundError, OfflineError
from .hooks import Hooks
from .interrogator import Interrogator, Result
from .settings import MODES, Settings
from .tables import CacheSettings
from .vocab import Vocabulary, build_vocabulary

__all__ = [
    "MODES",
    "CacheSettings",
    "Captioner",
    "ClipBundle",
    "Hooks",
    "InputError",
    "Interrogator",
    "InterrogatorError",
    "ModelNotFoundError",
    "OfflineError",
    "Result",
    "Settings",
    "Vocabulary",
    "build_vocabulary",
    "load_caption_model",
    "load_clip",
]
__version__ = "0.1.0"
