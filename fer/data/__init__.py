"""Data readers: every supported layout -> FaceSets with uint8 grayscale faces and labels in FER2013's order.

``load_dataset(path)`` recognises the layout (``detect_format``) and returns a ``DataBundle`` of splits.
"""

from fer.data.audit import DuplicateReport, audit_duplicates, drop_train_duplicates
from fer.data.bundle import DataBundle
from fer.data.classes import CLASS_ALIASES, canonical_class, class_index
from fer.data.faceset import SPLITS, DataError, FaceSet
from fer.data.load import FORMATS, detect_format, load_dataset
from fer.data.sources.ferplus import majority_labels
from fer.data.split import carve_val
from fer.data.synthetic import make_synthetic_faces, mouth_box, region_box

__all__ = [
    "CLASS_ALIASES",
    "FORMATS",
    "SPLITS",
    "DataBundle",
    "DataError",
    "DuplicateReport",
    "FaceSet",
    "audit_duplicates",
    "canonical_class",
    "carve_val",
    "class_index",
    "detect_format",
    "drop_train_duplicates",
    "load_dataset",
    "majority_labels",
    "make_synthetic_faces",
    "mouth_box",
    "region_box",
]
