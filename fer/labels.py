"""Label sets. FER2013's order is canonical everywhere; other orders are mapped at the data source."""

from __future__ import annotations

FER2013_CLASSES: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
# FERPlus keeps FER2013's seven in the same order and adds contempt.
FERPLUS_CLASSES: tuple[str, ...] = FER2013_CLASSES + ("contempt",)


def default_class_names(num_classes: int) -> tuple[str, ...]:
    """The label set a head of `num_classes` outputs is assumed to use."""
    if num_classes == len(FER2013_CLASSES):
        return FER2013_CLASSES
    if num_classes == len(FERPLUS_CLASSES):
        return FERPLUS_CLASSES
    return tuple(f"class_{i}" for i in range(num_classes))
