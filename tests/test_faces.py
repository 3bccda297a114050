"""Face detection on scikit-image's public-domain photos: the right boxes, square crops, model tensors, threads."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest
import torch
from skimage import data

import fer
from fer.faces import Face, _cascade, detect_faces, face_tensor, whole_image_face

# Measured by hand on a 10-pixel grid drawn over skimage.data.astronaut() (512x512): eye centres at
# about (200, 102) and (245, 102), mouth centre about (224, 145); the skin of the face spans about
# x 183..260, y 77..180. A face box must cover the eyes and the mouth, and its centre must lie between
# the eyes horizontally and between eye and mouth level vertically.
EYES = ((200, 102), (245, 102))
MOUTH = (224, 145)
CENTRE_X, CENTRE_Y = (195, 250), (95, 150)


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return data.astronaut()


def assert_on_astronaut_face(box: tuple[int, int, int, int], scale: float = 1.0, offset: tuple = (0, 0)) -> None:
    """``box`` in a copy of the astronaut resized by ``scale`` and pasted at ``offset``."""
    x, y, w, h = ((v - o) / scale for v, o in zip(box, (*offset, 0, 0)))
    for px, py in (*EYES, MOUTH):
        assert x <= px <= x + w and y <= py <= y + h, (box, (px, py))
    cx, cy = x + w / 2, y + h / 2
    assert CENTRE_X[0] <= cx <= CENTRE_X[1] and CENTRE_Y[0] <= cy <= CENTRE_Y[1], box
    assert 70 <= w <= 140, box  # a face, not a feature of it or the whole head and helmet


def test_one_face_on_the_astronaut(astronaut: np.ndarray) -> None:
    faces = detect_faces(astronaut)
    assert len(faces) == 1
    face = faces[0]
    assert_on_astronaut_face(face.box)
    assert not face.whole_image and face.score is not None and face.score > 0
    assert all(isinstance(v, int) for v in face.box)


def test_crops_are_square_uint8_with_the_margin(astronaut: np.ndarray) -> None:
    face = detect_faces(astronaut, margin=0.15, detector="haar")[0]  # square boxes, unaligned crops
    side = face.gray.shape[0]
    assert face.gray.dtype == np.uint8 and face.gray.shape == (side, side)
    assert abs(side - round(max(face.box[2:]) * 1.3)) <= 1
    x, y, w, h = face.box
    gray = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)
    m = (side - w) // 2
    np.testing.assert_array_equal(face.gray[m : m + h, m : m + w], gray[y : y + h, x : x + w])  # not equalised
    assert detect_faces(astronaut, margin=0.0, detector="haar")[0].gray.shape == (w, w)


def test_crops_at_the_border_are_edge_padded(astronaut: np.ndarray) -> None:
    # The face pushed against the top-left corner: its crop must stay whole, padding by repeating the edge.
    shifted = np.ascontiguousarray(astronaut[60:, 170:])
    face = detect_faces(shifted, margin=0.3, detector="haar")[0]
    x, y, w, h = face.box
    assert x < 0.3 * w and y < 0.3 * h  # the margin reaches past the border
    side = face.gray.shape[0]
    assert face.gray.shape == (side, side) and side == round(max(w, h) * 1.6)
    top = round(y + h / 2 - side / 2)
    assert top < 0
    np.testing.assert_array_equal(face.gray[0], face.gray[-top])  # rows above the photo repeat its first row


def test_no_faces_on_blank_images() -> None:
    assert detect_faces(np.zeros((300, 400, 3), np.uint8)) == []
    assert detect_faces(np.full((300, 400, 3), 255, np.uint8)) == []
    assert detect_faces(np.zeros((10, 10, 3), np.uint8)) == []  # smaller than the cascade's window


def test_gray_camera_photo_does_not_crash() -> None:
    camera = data.camera()
    assert camera.ndim == 2
    faces = detect_faces(camera)
    for face in faces:  # a man with a camera, small and half turned: a face is allowed but not required
        assert face.gray.shape[0] == face.gray.shape[1]
    assert [f.box for f in detect_faces(np.stack([camera] * 3, axis=-1))] == [f.box for f in faces]


def test_two_astronauts_largest_first(astronaut: np.ndarray) -> None:
    canvas = np.full((700, 1200, 3), 200, np.uint8)
    canvas[150:510, 40:400] = cv2.resize(astronaut, (360, 360), interpolation=cv2.INTER_AREA)  # the smaller, left
    canvas[50:562, 600:1112] = astronaut
    faces = detect_faces(canvas)
    assert len(faces) == 2
    assert faces[0].box[2] * faces[0].box[3] > faces[1].box[2] * faces[1].box[3]
    assert_on_astronaut_face(faces[0].box, offset=(600, 50))
    assert_on_astronaut_face(faces[1].box, scale=360 / 512, offset=(40, 150))
    assert len(detect_faces(canvas, max_faces=1)) == 1
    assert detect_faces(canvas, max_faces=1)[0].box == faces[0].box
    assert [f.box for f in detect_faces(canvas, min_face=200)] == []


def test_huge_photo_boxes_map_back(astronaut: np.ndarray) -> None:
    big = cv2.resize(astronaut, (4000, 4000), interpolation=cv2.INTER_CUBIC)
    faces = detect_faces(big, detector="haar")  # Haar's shrink-and-map-back (MTCNN's: test_face_landmarks.py)
    assert faces
    # Upscaled blur can add a few small false hits; the largest is the face, in the big photo's pixels.
    assert_on_astronaut_face(faces[0].box, scale=4000 / 512)
    assert faces[0].gray.shape[0] > 800  # the crop comes from the full-resolution photo


def test_whole_image_face() -> None:
    rgb = np.zeros((300, 500, 3), np.uint8)
    rgb[:, 100:400] = 255  # the centre square is white, the sides black
    face = whole_image_face(rgb)
    assert face.whole_image and face.score is None
    assert face.box == (100, 0, 300, 300)
    assert face.gray.shape == (300, 300) and face.gray.dtype == np.uint8 and (face.gray == 255).all()
    assert whole_image_face(rgb[:, :, 0]).box == (100, 0, 300, 300)


@pytest.mark.parametrize("name", fer.list_models())
def test_face_tensor_has_each_models_shape(astronaut: np.ndarray, name: str) -> None:
    spec = fer.get_spec(name).input
    face = detect_faces(astronaut)[0]
    assert face_tensor(face, spec).shape == (1, spec.channels, spec.size, spec.size)
    for size in (64, 224):
        x = face_tensor(face, spec, size)
        assert x.shape == (1, spec.channels, size, size) and x.dtype == torch.float32
        assert (x[:, 0] - x[:, 0].mean()).abs().max() > 0.1  # a real image, not a constant
    # Normalisation undone gives the gray crop's scale back.
    x = face_tensor(face, spec, 64)
    gray01 = x[0, 0] * spec.std[0] + spec.mean[0]
    assert 0 <= float(gray01.min()) and float(gray01.max()) <= 1.0 + 1e-5


def test_threads_give_the_same_faces_as_one_at_a_time(astronaut: np.ndarray) -> None:
    canvas = np.full((600, 1100, 3), 120, np.uint8)
    canvas[40:552, 20:532] = astronaut
    canvas[100:400, 700:1000] = cv2.resize(astronaut, (300, 300), interpolation=cv2.INTER_AREA)
    images = [astronaut, canvas, astronaut[:, ::-1]]

    def key(faces: list[Face]) -> list:
        return [(f.box, f.score, f.gray.tobytes()) for f in faces]

    expected = [key(detect_faces(img)) for img in images]
    results: dict[tuple[int, int], list] = {}
    cascades: dict[int, set[int]] = {}
    start = threading.Barrier(2)

    def work(t: int) -> None:
        start.wait()
        for rep in range(3):
            for i, img in enumerate(images):
                results[(t, rep * 10 + i)] = key(detect_faces(img))
                cascades.setdefault(t, set()).add(id(_cascade()))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(results) == 2 * 3 * len(images)
    for (_, k), got in results.items():
        assert got == expected[k % 10]
    assert all(len(ids) == 1 for ids in cascades.values())  # loaded once per thread, not per call
    assert len(set().union(*cascades.values())) == 2  # and not shared between threads


def test_bad_input_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="load_image"):
        detect_faces(np.zeros((100, 100, 3), np.float32))
    with pytest.raises(ValueError, match="load_image"):
        detect_faces(np.zeros((100, 100, 4), np.uint8))
