"""Class names as datasets spell them (folder names, label columns) -> our indices (FER2013's order, + contempt)."""

from __future__ import annotations

from collections.abc import Iterable

from fer.data.faceset import DataError
from fer.labels import FER2013_CLASSES, FERPLUS_CLASSES

# Every spelling we accept, lower-case, -> our canonical name. Datasets disagree on noun vs adjective
# ("anger" in FERPlus, "angry" in FER2013 folders), so both are mapped here once instead of in each reader.
CLASS_ALIASES: dict[str, str] = {
    "angry": "angry",
    "anger": "angry",
    "disgust": "disgust",
    "disgusted": "disgust",
    "fear": "fear",
    "fearful": "fear",
    "afraid": "fear",
    "happy": "happy",
    "happiness": "happy",
    "joy": "happy",
    "sad": "sad",
    "sadness": "sad",
    "surprise": "surprise",
    "surprised": "surprise",
    "neutral": "neutral",
    "neutrality": "neutral",
    "contempt": "contempt",
}


def canonical_class(name: str) -> str | None:
    """Our name for ``name`` (case and surrounding blanks ignored), or None if it is not a known spelling."""
    return CLASS_ALIASES.get(name.strip().lower())


def class_index(name: str, source: str) -> int:
    """Index of ``name`` in our order; FERPlus only appends contempt, so the index is the same for 7 and 8 classes.

    ``source`` is the file or folder the name came from, so the error can say where to look.
    """
    canonical = canonical_class(name)
    if canonical is None:
        accepted = ", ".join(sorted(CLASS_ALIASES))
        raise DataError(f"{source}: unknown class {name!r}; accepted names (any case): {accepted}")
    return FERPLUS_CLASSES.index(canonical)


def class_set(names: Iterable[str]) -> tuple[str, ...]:
    """The label set a dataset with these class names uses: FERPlus's 8 if any is contempt, else FER2013's 7."""
    if any(canonical_class(n) == "contempt" for n in names):
        return FERPLUS_CLASSES
    return FER2013_CLASSES
