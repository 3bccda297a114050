"""Give each face an id that it keeps across frames: boxes matched to tracks by overlap (IoU).

Matching is an optimal assignment (scipy's Hungarian solver) on IoU, so two faces passing close to each
other do not swap ids as long as each still overlaps its own previous box more. Samples are far apart in
time (2 a second by default), so a face that moved more than about half its width overlaps its last box
too little: a second pass matches the boxes and tracks left over by the distance between centres (up to
``max_jump`` box sides, sizes within 1.5x). A face that jumps further gets a new id: sample more often then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

Box = tuple[int, int, int, int]  # x, y, w, h


def iou_matrix(a: Sequence[Box], b: Sequence[Box]) -> np.ndarray:
    """Intersection over union of every box in ``a`` with every box in ``b`` (x, y, w, h boxes)."""
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)))
    a_, b_ = np.asarray(a, dtype=float)[:, None, :], np.asarray(b, dtype=float)[None, :, :]
    x0, y0 = np.maximum(a_[..., 0], b_[..., 0]), np.maximum(a_[..., 1], b_[..., 1])
    x1 = np.minimum(a_[..., 0] + a_[..., 2], b_[..., 0] + b_[..., 2])
    y1 = np.minimum(a_[..., 1] + a_[..., 3], b_[..., 1] + b_[..., 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    union = a_[..., 2] * a_[..., 3] + b_[..., 2] * b_[..., 3] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def jump_matrix(a: Sequence[Box], b: Sequence[Box]) -> np.ndarray:
    """Distance between the centres of every box in ``a`` and ``b``, in sides of the ``a`` box; infinite where
    the sizes differ by more than 1.5x (not the same face)."""
    a_, b_ = np.asarray(a, dtype=float)[:, None, :], np.asarray(b, dtype=float)[None, :, :]
    side_a, side_b = np.sqrt(a_[..., 2] * a_[..., 3]), np.sqrt(b_[..., 2] * b_[..., 3])
    dx = (a_[..., 0] + a_[..., 2] / 2) - (b_[..., 0] + b_[..., 2] / 2)
    dy = (a_[..., 1] + a_[..., 3] / 2) - (b_[..., 1] + b_[..., 3] / 2)
    jump = np.hypot(dx, dy) / np.maximum(side_a, 1e-9)
    ratio = np.maximum(side_a, side_b) / np.maximum(np.minimum(side_a, side_b), 1e-9)
    return np.where(ratio <= 1.5, jump, 1e6)  # large, not inf: the solver needs finite costs


@dataclass
class Track:
    """One face followed across samples."""

    id: int
    box: Box
    first_s: float
    last_s: float
    samples: int = 1
    missed: int = 0  # consecutive samples without a match


class IoUTracker:
    """Assigns stable ids (1, 2, ...) to the boxes of successive samples.

    A box joins the track whose last box it overlaps most (IoU at least ``min_iou``); a track unmatched
    for more than ``max_missed`` samples ends (a missed detection or two does not split a face); other
    boxes start new tracks.
    """

    def __init__(self, min_iou: float = 0.3, max_missed: int = 2, max_jump: float = 1.0) -> None:
        self.min_iou = min_iou
        self.max_missed = max_missed
        self.max_jump = max_jump
        self.active: list[Track] = []
        self.finished: list[Track] = []
        self._next_id = 1

    def update(self, boxes: Sequence[Box], time_s: float) -> list[int]:
        """The id of each box of this sample, in the order given."""
        ids: list[int | None] = [None] * len(boxes)
        matched: set[int] = set()

        def take(r: int, c: int) -> None:
            track = self.active[r]
            track.box, track.last_s, track.samples, track.missed = tuple(boxes[c]), time_s, track.samples + 1, 0
            ids[c] = track.id
            matched.add(r)

        if self.active and boxes:
            iou = iou_matrix([t.box for t in self.active], boxes)
            for r, c in zip(*linear_sum_assignment(-iou)):
                if iou[r, c] >= self.min_iou:
                    take(r, c)
            rows = [r for r in range(len(self.active)) if r not in matched]
            cols = [c for c in range(len(boxes)) if ids[c] is None]
            if rows and cols:
                jump = jump_matrix([self.active[r].box for r in rows], [boxes[c] for c in cols])
                for i, j in zip(*linear_sum_assignment(jump)):
                    if jump[i, j] <= self.max_jump:
                        take(rows[i], cols[j])
        still = []
        for r, track in enumerate(self.active):
            if r not in matched:
                track.missed += 1
            (still if track.missed <= self.max_missed else self.finished).append(track)
        self.active = still
        for c in sorted(range(len(boxes)), key=lambda c: (boxes[c][1], boxes[c][0])):  # new ids in reading order
            box = boxes[c]
            if ids[c] is None:
                track = Track(self._next_id, tuple(box), time_s, time_s)
                self._next_id += 1
                self.active.append(track)
                ids[c] = track.id
        return [int(i) for i in ids]

    def tracks(self) -> list[Track]:
        """Every track so far, by id."""
        return sorted(self.finished + self.active, key=lambda t: t.id)
