"""ci_engine: image to Stable Diffusion prompt, at output parity with clip-interrogator 0.6.0.

A plain library (no ComfyUI import)::

    from ci_engine import Interrogator, Settings, load_clip, load_caption_model
    clip = load_clip("ViT-L-14/openai")
    ci = Interrogator(clip, load_caption_model("blip-large"), Settings())
    print(ci.run("best", [image])[0].prompt)

Layers, each importing only those before it: base (``errors``, ``hooks``, ``devices``),
``text`` (tokens and text encoding), ``tags`` (a tagger's tag options), ``models``
(registry, hub, loading of CLIP, caption models and booru taggers), the core (vocabulary,
caches, tables, ranking, chain, modes, settings, tagging, interrogator, images), and the
front ends (``cli``, ``testing``).
"""

from .errors import CaptionError, DownloadError, InputError, InterrogatorError, ModelNotFoundError, OfflineError
from .hooks import Hooks
from .interrogator import Interrogator, Result
from .models.bundle import ClipBundle
from .models.caption import Captioner, load_caption_model
from .models.clip import load_clip
from .models.sources import load_caption_source
from .models.tagger import Tagger
from .models.tagger_load import load_tagger
from .modes import MODES, ModeSpec
from .settings import Settings
from .tables import CacheSettings
from .version import __version__
from .vocab import Vocabulary, build_vocabulary

__all__ = [
    "MODES",
    "CacheSettings",
    "CaptionError",
    "Captioner",
    "ClipBundle",
    "DownloadError",
    "Hooks",
    "InputError",
    "Interrogator",
    "InterrogatorError",
    "ModeSpec",
    "ModelNotFoundError",
    "OfflineError",
    "Result",
    "Settings",
    "Tagger",
    "Vocabulary",
    "__version__",
    "build_vocabulary",
    "load_caption_model",
    "load_caption_source",
    "load_clip",
    "load_tagger",
]
