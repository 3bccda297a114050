"""One call from a photo to every face's predictions and explanations: ``fer.analyze(image)``."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from fer.budget import check_budget
from fer.explain.agreement import CamAgreement, cam_agreement
from fer.explain.cam import compute_cam
from fer.explain.occlusion import occlusion_drops
from fer.explain.regions import REGIONS, face_region_masks, region_shares
from fer.faces import MIN_FACE, Face, detect_faces, face_tensor, whole_image_face
from fer.images import ImageSource, load_image
from fer.registry import list_models
from fer.zoo import LoadedModel, ModelZoo


@dataclass(frozen=True)
class ModelResult:
    """One model's reading of one face."""

    probs: dict[str, float]  # the model's own class names -> probability
    top: str
    cam: np.ndarray | None  # float32 in [0, 1], the size of the model's input crop
    cam_class: str | None  # the class the map explains
    trained: bool  # False: no checkpoint was found, the weights are untrained
    note: str
    # Only for faces with landmarks and a map (fer.explain.regions); None otherwise:
    regions: dict[str, float] | None = None  # region -> share of the map's mass, summing to 1 with "rest"
    region_lift: dict[str, float] | None = None  # region -> share / the region's share of the crop's area
    occlusion: dict[str, float] | None = None  # brows/eyes/nose/mouth -> drop of cam_class's probability, greyed out
    temperature: float | None = None  # the checkpoint's temperature scaling, applied to ``probs``; None: none


@dataclass(frozen=True)
class FaceResult:
    """A face in the photo and what each model makes of it."""

    box: tuple[int, int, int, int]  # x, y, w, h in the photo
    face: Face
    models: dict[str, ModelResult]
    cam_agreement: CamAgreement | None = None  # how alike the models' maps are; None with fewer than two maps

    @property
    def whole_image(self) -> bool:
        return self.face.whole_image


class Analyzer:
    """Detects faces and runs the models on them; models load lazily through a shared :class:`ModelZoo`."""

    def __init__(self, zoo: ModelZoo | None = None) -> None:
        self.zoo = zoo or ModelZoo()

    def faces(
        self,
        image: ImageSource | np.ndarray,
        whole_image: bool = False,
        *,
        align: bool = True,
        detector: str = "mtcnn",
        min_face: int = MIN_FACE,
    ) -> tuple[np.ndarray, list[Face]]:
        """The RGB photo and its faces, left to right; the whole photo as one face when none is found and
        ``whole_image``. See :func:`fer.faces.detect_faces` for ``align``, ``detector`` and ``min_face``."""
        rgb = load_image(image)
        found = detect_faces(rgb, min_face=min_face, detector=detector, align=align, order="left_to_right")
        if not found and whole_image:
            found = [whole_image_face(rgb)]
        return rgb, found

    def analyze(
        self,
        image: ImageSource | np.ndarray,
        models: Sequence[str] | None = None,
        cam: str | None = "gradcam",
        *,
        target: str | None = None,
        layer: str | None = None,
        whole_image: bool = False,
        align: bool = True,
        detector: str = "mtcnn",
        min_face: int = MIN_FACE,
        regions: bool = True,
        occlusion: bool = True,
    ) -> list[FaceResult]:
        """See :func:`analyze`."""
        _, faces = self.faces(image, whole_image, align=align, detector=detector, min_face=min_face)
        return self.analyze_faces(faces, models, cam, target=target, layer=layer, regions=regions, occlusion=occlusion)

    def analyze_faces(
        self,
        faces: Sequence[Face],
        models: Sequence[str] | None = None,
        cam: str | None = "gradcam",
        *,
        target: str | None = None,
        layer: str | None = None,
        regions: bool = True,
        occlusion: bool = True,
    ) -> list[FaceResult]:
        """Run ``models`` (default: all) on already detected ``faces``, all faces of a model in one batch.

        With maps and ``regions``, faces with landmarks also get each map's region shares and, with
        ``occlusion``, an occlusion test by region (one more batched forward pass per model, of four images
        per face: the costly part), and faces with two maps or more get ``cam_agreement``.
        """
        names = list(models) if models is not None else list_models()
        per_model = {
            name: self._run(self.zoo.get(name), faces, cam, target, layer, regions, occlusion) for name in names
        }
        results = []
        for i, face in enumerate(faces):
            read = {name: per_model[name][i] for name in names}
            maps = {name: r.cam for name, r in read.items() if r.cam is not None}
            agreement = cam_agreement(maps) if regions and len(maps) >= 2 else None
            results.append(FaceResult(box=face.box, face=face, models=read, cam_agreement=agreement))
        return results

    def _run(
        self,
        loaded: LoadedModel,
        faces: Sequence[Face],
        cam: str | None,
        target: str | None,
        layer: str | None,
        regions: bool = True,
        occlusion: bool = True,
    ) -> list[ModelResult]:
        if not faces:
            return []
        check_budget()  # between models: a time limit in force (fer.budget) stops the analysis here
        model, classes = loaded.model, loaded.class_names
        x = torch.cat([face_tensor(face, model.spec.input) for face in faces]).to(next(model.parameters()).device)
        x = x.contiguous(memory_format=torch.channels_last)
        if target is not None and target not in classes:
            raise ValueError(f"{model.spec.name} has no class {target!r}; its classes: {', '.join(classes)}")
        maps: np.ndarray | None = None
        explained: list[int | None] = [None] * len(faces)
        if cam is None:
            logits = loaded.logits(x)
        else:
            target_index = classes.index(target) if target else None
            result = compute_cam(model, x, cam, targets=target_index, layer=layer, trunk=loaded.trunk)
            logits, maps, explained = result.logits, result.cams, result.targets
        probs = loaded.probs(logits).cpu().numpy()  # a calibrated checkpoint's logits / T
        shares: list = [None] * len(faces)
        occluded: list = [None] * len(faces)
        if maps is not None and regions:
            masks = {i: face_region_masks(face, model.spec.input.size) for i, face in enumerate(faces)}
            with_landmarks = [i for i, m in masks.items() if m is not None and maps[i].shape == x.shape[-2:]]
            for i in with_landmarks:
                shares[i] = region_shares(maps[i], masks[i])
            if with_landmarks and occlusion:
                check_budget()
                # The four features only ("rest" is mostly background), against the CAM pass's own probabilities:
                # each occluded image costs about a forward pass on a CPU.
                drops = occlusion_drops(
                    model,
                    x[with_landmarks],
                    [masks[i] for i in with_landmarks],
                    [explained[i] for i in with_landmarks],
                    regions=REGIONS,
                    baseline=[float(probs[i, explained[i]]) for i in with_landmarks],
                    probs=lambda batch: loaded.probs(loaded.logits(batch)),
                )
                for i, drop in zip(with_landmarks, drops):
                    occluded[i] = drop
        return [
            ModelResult(
                probs={c: float(p) for c, p in zip(classes, probs[i])},
                top=classes[int(probs[i].argmax())],
                cam=None if maps is None else maps[i],
                cam_class=None if explained[i] is None else classes[explained[i]],
                trained=loaded.trained,
                note=loaded.note,
                regions=None if shares[i] is None else shares[i].shares,
                region_lift=None if shares[i] is None else shares[i].lift,
                occlusion=occluded[i],
                temperature=loaded.temperature,
            )
            for i in range(len(faces))
        ]


_default: Analyzer | None = None
_default_guard = threading.Lock()


def default_analyzer() -> Analyzer:
    """The process-wide analyzer (checkpoints from ``FER_CHECKPOINTS`` or ./checkpoints), created on first use."""
    global _default
    with _default_guard:
        if _default is None:
            _default = Analyzer(ModelZoo(os.environ.get("FER_CHECKPOINTS")))
        return _default


def analyze(
    image: ImageSource | np.ndarray,
    models: Sequence[str] | None = None,
    cam: str | None = "gradcam",
    *,
    target: str | None = None,
    layer: str | None = None,
    whole_image: bool = False,
    align: bool = True,
    detector: str = "mtcnn",
    min_face: int = MIN_FACE,
    regions: bool = True,
    occlusion: bool = True,
) -> list[FaceResult]:
    """Every face in ``image`` (a path, bytes, PIL image or RGB array), left to right, each read by ``models``
    (None: all four).

    ``cam`` picks the map (``"gradcam"``, ``"gradcam++"``, ``"xgradcam"``, ``"hirescam"``, ``"layercam"``,
    ``"eigencam"``, ``"scorecam"``; None skips maps), explaining the top class or ``target`` (a class name),
    at the model's registered layer or ``layer``. With ``whole_image=True`` a photo without a detected face
    is analysed whole. Models without a checkpoint run untrained and say so (``trained=False``).
    Faces come from ``detector`` (``"mtcnn"``, with landmarks, or ``"haar"``), at least ``min_face`` px; with
    ``align`` (the default) faces with landmarks are cropped with the eyes level (``FaceResult.face.aligned``).
    With maps and ``regions`` (the default), faces with landmarks get each model's region shares
    (``ModelResult.regions``, ``region_lift``) and occlusion drops (``ModelResult.occlusion``), and every
    face with two maps or more their agreement (``FaceResult.cam_agreement``); see :mod:`fer.explain.regions`.
    ``occlusion=False`` skips the occlusion test, the one part that costs forward passes.
    A checkpoint with temperature scaling (``meta.json``'s ``temperature``, fitted by training on the validation
    split) gives the probabilities of its logits divided by T (``ModelResult.temperature``).
    """
    return default_analyzer().analyze(
        image,
        models,
        cam,
        target=target,
        layer=layer,
        whole_image=whole_image,
        align=align,
        detector=detector,
        min_face=min_face,
        regions=regions,
        occlusion=occlusion,
    )
