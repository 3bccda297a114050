"""Evaluate a model on a labelled set of faces and write the artifact, with labels aligned by class name."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from torch import nn

from fer.data import FaceSet
from fer.evaluation.artifact import write_artifact
from fer.evaluation.predict import predict
from fer.evaluation.temperature import fit_temperature, temperature_report


def align_classes(faces: FaceSet, model_classes: Sequence[str]) -> FaceSet:
    """Relabel ``faces`` into the model's class order by name; samples of classes the model lacks are dropped."""
    model_classes = tuple(model_classes)
    if tuple(faces.class_names) == model_classes:
        return faces
    lookup = np.full(len(faces.class_names), -1)
    for i, name in enumerate(faces.class_names):
        if name in model_classes:
            lookup[i] = model_classes.index(name)
    new_labels = lookup[faces.labels]
    keep = new_labels >= 0
    missing = sorted({faces.class_names[i] for i in faces.labels[~keep]})
    note = (
        f"dropped {int((~keep).sum())} samples of classes the model lacks ({', '.join(missing)})" if missing else None
    )
    kept = faces.subset(keep, note)
    return replace(kept, labels=new_labels[keep].astype(np.int64), class_names=model_classes)


def fit_temperature_on(
    model: nn.Module,
    faces: FaceSet,
    *,
    class_names: Sequence[str],
    img_size: int | None = None,
    batch_size: int = 128,
    device: str | torch.device | None = None,
) -> dict[str, Any]:
    """Temperature scaling of ``model`` fitted on ``faces`` (the validation split), as ``meta.json`` keeps it:
    ``{"value": T, "fitted_on": "<dataset> <split>", "n_samples", "ece_before", "ece_after", "nll_before",
    "nll_after"}`` (ECE and NLL on ``faces`` themselves)."""
    faces = align_classes(faces, class_names)
    preds = predict(model, faces.images, faces.labels, img_size=img_size, batch_size=batch_size, device=device)
    t = fit_temperature(preds.logits, faces.labels)
    report = temperature_report(preds.logits, faces.labels, t)
    report.pop("bins_after")
    report.pop("temperature")
    return {"value": t, "fitted_on": f"{faces.name} {faces.split}", **report}


def evaluate_to_artifact(
    model: nn.Module,
    faces: FaceSet,
    out_dir: str | os.PathLike,
    *,
    class_names: Sequence[str],
    info: dict[str, Any] | None = None,
    img_size: int | None = None,
    batch_size: int = 128,
    device: str | torch.device | None = None,
    temperature: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Predict ``faces`` with ``model`` and write ``metrics.json`` + ``predictions.npz`` into ``out_dir``.

    ``temperature``: the model's temperature scaling (``meta.json``'s ``temperature``), reported before/after.
    """
    faces = align_classes(faces, class_names)
    preds = predict(model, faces.images, faces.labels, img_size=img_size, batch_size=batch_size, device=device)
    info = {
        "model": model.spec.name,
        "dataset": faces.name,
        "split": faces.split,
        "source": faces.source,
        "notes": list(faces.notes),
        "loss": preds.loss,
        **(info or {}),
    }
    return write_artifact(
        out_dir,
        predictions=preds,
        labels=faces.labels,
        ids=faces.ids,
        images=faces.images,
        class_names=tuple(class_names),
        info=info,
        temperature=temperature,
    )
