"""fer: four published facial-expression-recognition models, their training recipes and their explanations.

Not the PyPI package named ``fer`` (a different Keras project); do not install both.
"""

# First, before anything below loads torch: importing fer.threads sets OpenMP's passive waiting and a
# thread count from the cores this process may use (fer/threads.py says why). Every entry point goes
# through this package, so app.py, train.py, `python -m fer` and the bench scripts all get them.
from fer.threads import CPU_THREAD_SETTINGS  # noqa: F401

# isort: split
from typing import TYPE_CHECKING

from fer.checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from fer.labels import FER2013_CLASSES, FERPLUS_CLASSES
from fer.lazy import lazy_getattr
from fer.pretrained import PretrainedWeightsUnavailable
from fer.registry import ModelSpec, build_model, get_cam_target_layer, get_spec, list_models, register_model

if TYPE_CHECKING:
    from fer.inference import Analyzer, FaceResult, ModelResult, analyze
    from fer.video import VideoError, VideoResult, analyze_video

__version__ = "0.1.0"

# fer.analyze, fer.analyze_video and friends pull in OpenCV and pytorch-grad-cam; training needs neither,
# so they load on first use (PEP 562) and `import fer` stays within torch, torchvision, numpy, safetensors
# and tqdm.
_LAZY = {name: "fer.inference" for name in ("Analyzer", "FaceResult", "ModelResult", "analyze")}
_LAZY |= {name: "fer.video" for name in ("VideoError", "VideoResult", "analyze_video")}


__getattr__ = lazy_getattr("fer", _LAZY, globals())


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "Analyzer",
    "FaceResult",
    "ModelResult",
    "analyze",
    "analyze_video",
    "VideoError",
    "VideoResult",
    "FER2013_CLASSES",
    "FERPLUS_CLASSES",
    "CheckpointError",
    "ModelSpec",
    "PretrainedWeightsUnavailable",
    "build_model",
    "get_cam_target_layer",
    "get_spec",
    "list_models",
    "load_checkpoint",
    "register_model",
    "save_checkpoint",
]
