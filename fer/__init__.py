"""fer: four published facial-expression-recognition models, their training recipes and their explanations.

Not the PyPI package named ``fer`` (a different Keras project); do not install both.
"""

from fer.checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from fer.inference import Analyzer, FaceResult, ModelResult, analyze
from fer.labels import FER2013_CLASSES, FERPLUS_CLASSES
from fer.pretrained import PretrainedWeightsUnavailable
from fer.registry import ModelSpec, build_model, get_cam_target_layer, get_spec, list_models, register_model
from fer.video import VideoError, VideoResult, analyze_video

__version__ = "0.1.0"

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
