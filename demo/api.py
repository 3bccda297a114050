"""The programmatic endpoint (``/predict``) for gradio_client and other HTTP users, under the UI's limits."""

from __future__ import annotations

from typing import Any

import fer
from demo.limits import ANALYZE_TIME_LIMIT_S, MAX_FACES, SCORE_CAM, request_budget, score_cam_refusal
from demo.messages import user_message
from demo.studio import Studio
from fer.budget import BudgetExceeded
from fer.explain.methods import CAM_METHODS
from fer.faces import largest_faces
from fer.images import DETECT_MAX_SIDE, ImageError, load_image


def predict(studio: Studio, image_path: str | None, models: str = "", cam: str = "") -> dict[str, Any]:
    """Faces and each model's probabilities for an image file; ``models`` comma-separated (empty: all).

    Repeated model names count once; photos are analysed at most ``DETECT_MAX_SIDE`` pixels long
    (``image_size`` says at what size, and ``box`` is in that frame), at most ``MAX_FACES`` faces;
    ``cam`` computes maps under the same rules as the page (Score-CAM: one model, one face).
    """
    if not image_path:
        return _error("no image given")
    known = fer.list_models()
    names = list(dict.fromkeys(m.strip() for m in models.split(",") if m.strip())) or known
    unknown = [m for m in names if m not in known]
    if unknown:
        return _error(f"unknown model {unknown[0][:40]!r}; choose from {', '.join(known)}")
    if cam and cam not in CAM_METHODS:
        return _error(f"unknown CAM method {cam[:40]!r}; choose one of {', '.join(CAM_METHODS)} or leave it empty")
    try:
        photo = load_image(image_path, max_side=DETECT_MAX_SIDE)
    except ImageError as exc:
        return _error(user_message(exc))
    try:
        with request_budget(ANALYZE_TIME_LIMIT_S, "The request"):
            _, faces = studio.analyzer.faces(photo)
            faces = largest_faces(faces, MAX_FACES)
            if cam == SCORE_CAM:
                refusal = score_cam_refusal(names, len(faces)) or studio.score_cam_refusal(names[0])
                if refusal:
                    return _error(refusal)
            # The JSON carries no region shares (yet): no occlusion passes spent on it.
            results = studio.analyzer.analyze_faces(faces, names, cam or None, regions=False)
    except (BudgetExceeded, ValueError) as exc:
        return _error(user_message(exc))
    return {
        "error": None,
        "image_size": [photo.shape[1], photo.shape[0]],
        "faces": [
            {
                "box": list(face.box),
                "models": {
                    name: {"top": r.top, "probs": r.probs, "trained": r.trained} for name, r in face.models.items()
                },
            }
            for face in results
        ],
    }


def _error(message: str) -> dict[str, Any]:
    return {"error": message.removeprefix("⚠️ "), "faces": []}
