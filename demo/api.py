"""The programmatic endpoint (``/predict``) for gradio_client and other HTTP users."""

from __future__ import annotations

from typing import Any

from demo.studio import Studio
from fer.images import ImageError, load_image


def predict(studio: Studio, image_path: str | None, models: str = "", cam: str = "") -> dict[str, Any]:
    """Faces and each model's probabilities for an image file; ``models`` comma-separated (empty: all)."""
    if not image_path:
        return {"error": "no image given", "faces": []}
    try:
        photo = load_image(image_path)
    except ImageError as exc:
        return {"error": str(exc), "faces": []}
    names = [m.strip() for m in models.split(",") if m.strip()] or None
    try:
        results = studio.analyzer.analyze(photo, names, cam or None)
    except (KeyError, ValueError) as exc:
        return {"error": str(exc), "faces": []}
    return {
        "error": None,
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
