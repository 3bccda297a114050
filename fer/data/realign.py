"""A dataset of face crops, detected and aligned again: what ``python -m fer evaluate --align`` does.

Datasets are read as crops (FER2013's 48 x 48, RAF-DB's aligned faces, image folders centre-cropped to a
square), and by default they bypass face detection. With ``--align`` every crop goes through the photo
path instead: MTCNN finds the face in it (the crop is first enlarged so that a face filling it is well
inside MTCNN's range, turned copies included) and the largest face's aligned crop (:mod:`fer.alignment`,
eyes level, FER2013's eye-mouth layout) replaces it, at the dataset's size. A crop where no face is found
is kept as it was; the note on the returned set says how many were aligned and how many kept.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from fer.data.faceset import FaceSet

DETECT_SIDE = 160  # crops smaller than this are enlarged to it for detection (a 48 px crop's face is ~25 px)
MIN_FACE_SHARE = 0.25  # the face sought is at least this fraction of the crop's side: a crop holds one big face


def realign_crop(gray: np.ndarray) -> np.ndarray | None:
    """``gray`` (uint8 S x S) replaced by the aligned crop of its largest face, same size; None if none found."""
    from fer.faces import detect_faces  # the detector loads only when asked for

    side = gray.shape[0]
    scale = max(1.0, DETECT_SIDE / side)
    big = gray if scale == 1.0 else cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    found = detect_faces(big, min_face=round(MIN_FACE_SHARE * big.shape[0]), max_faces=1, align=True)
    if not found or not found[0].aligned:
        return None
    crop = found[0].gray
    interpolation = cv2.INTER_AREA if crop.shape[0] > side else cv2.INTER_CUBIC
    return cv2.resize(crop, (gray.shape[1], side), interpolation=interpolation)


def realign_faceset(faces: FaceSet) -> FaceSet:
    """``faces`` with every crop replaced by its aligned face where MTCNN finds one (see the module's doc)."""
    if faces.images.shape[1] != faces.images.shape[2]:
        raise ValueError(f"realign_faceset needs square crops, got {faces.images.shape[1:]}")
    images = faces.images.copy()
    aligned = 0
    for i, gray in enumerate(faces.images):
        crop = realign_crop(gray)
        if crop is not None:
            images[i] = crop
            aligned += 1
    note = f"aligned: MTCNN found a face in {aligned} of {len(images)} crops; the other {len(images) - aligned} kept"
    return replace(faces, images=images, notes=faces.notes + (note,))
