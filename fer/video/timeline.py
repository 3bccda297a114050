"""The timeline CSV (one row per sampled frame x face x model), read back, smoothed, and summarised per face.

Rows are written as they come and flushed after each batch of frames, so memory stays flat whatever the
clip's length and an interrupted run keeps the frames done so far. Smoothing is for display only: the CSV
keeps raw values.
"""

from __future__ import annotations

import csv
import os
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

KEY_COLUMNS = ("time_s", "frame", "face_id", "model", "top")
BOX_COLUMNS = ("x", "y", "w", "h")


class TimelineWriter:
    """Appends rows to ``timeline.csv``: time_s, frame, face_id, model, top, one column per class, x, y, w, h.

    ``classes`` is the union of the models' class names; a model without a class leaves its cell empty.
    """

    def __init__(self, path: str | os.PathLike, classes: Sequence[str]) -> None:
        self.path = Path(path)
        self.classes = list(classes)
        self.rows = 0
        self._file = open(self.path, "w", newline="")  # noqa: SIM115 - closed in close()
        self._csv = csv.writer(self._file)
        self._csv.writerow([*KEY_COLUMNS, *self.classes, *BOX_COLUMNS])

    def write(
        self,
        time_s: float,
        frame: int,
        face_id: int,
        model: str,
        probs: Mapping[str, float],
        top: str,
        box: Sequence[int],
    ) -> None:
        cells = [f"{probs[c]:.5f}" if c in probs else "" for c in self.classes]
        self._csv.writerow([f"{time_s:.3f}", frame, face_id, model, top, *cells, *map(int, box)])
        self.rows += 1

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def read_timeline(path: str | os.PathLike) -> pd.DataFrame:
    """The CSV as a DataFrame (class columns float, NaN where a model lacks the class)."""
    return pd.read_csv(path)


def class_columns(timeline: pd.DataFrame) -> list[str]:
    return [c for c in timeline.columns if c not in KEY_COLUMNS and c not in BOX_COLUMNS]


def smooth(timeline: pd.DataFrame, window: int) -> pd.DataFrame:
    """Moving average of the class probabilities over ``window`` samples, per face and model, centred.

    ``top`` is recomputed from the smoothed values; ``window`` 1 returns the rows unchanged.
    """
    if window <= 1 or timeline.empty:
        return timeline
    classes = class_columns(timeline)
    out = timeline.sort_values(["face_id", "model", "time_s"]).copy()
    rolled = out.groupby(["face_id", "model"], sort=False)[classes].rolling(window, center=True, min_periods=1).mean()
    out[classes] = rolled.reset_index(level=[0, 1], drop=True).loc[out.index]
    out["top"] = out[classes].idxmax(axis=1)
    return out


class SummaryBuilder:
    """Per face: how long it is seen, each model's share of time per emotion, and where the models disagree.

    Fed one sample at a time (counts and merged intervals only), so it never holds the timeline.
    """

    def __init__(self, models: Sequence[str], sample_period_s: float) -> None:
        self.models = list(models)
        self.period = sample_period_s
        self._tops: dict[int, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
        self._samples: Counter = Counter()
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._disagree: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self._disagree_samples: Counter = Counter()
        self._open: dict[int, bool] = {}  # the face's last sample disagreed: a new one extends its interval

    def add(self, time_s: float, face_id: int, tops: Mapping[str, str]) -> None:
        """One face in one sample: each model's top class."""
        self._samples[face_id] += 1
        self._first.setdefault(face_id, time_s)
        self._last[face_id] = time_s
        for model, top in tops.items():
            self._tops[face_id][model][top] += 1
        disagree = len(set(tops.values())) > 1
        spans = self._disagree[face_id]
        if disagree:
            self._disagree_samples[face_id] += 1
            # Disagreeing samples of the face in a row (no gap over 1.5 periods) merge into one interval.
            if self._open.get(face_id) and time_s - spans[-1]["end_s"] <= 1.5 * self.period + 1e-9:
                spans[-1]["end_s"] = time_s
                spans[-1]["samples"] += 1
                for model, top in tops.items():
                    spans[-1]["counts"][model][top] += 1
            else:
                counts = {m: Counter({t: 1}) for m, t in tops.items()}
                spans.append({"start_s": time_s, "end_s": time_s, "samples": 1, "counts": counts})
        self._open[face_id] = disagree

    def build(self) -> dict[str, Any]:
        faces = []
        for face_id in sorted(self._samples):
            n = self._samples[face_id]
            shares = {
                model: {c: round(k / n, 4) for c, k in counts.most_common()}
                for model, counts in self._tops[face_id].items()
            }
            spans = [
                {
                    "start_s": round(s["start_s"], 3),
                    "end_s": round(s["end_s"] + self.period, 3),  # a sample stands for one period of clip
                    "samples": s["samples"],
                    "tops": {m: c.most_common(1)[0][0] for m, c in s["counts"].items()},
                }
                for s in self._disagree[face_id]
            ]
            faces.append(
                {
                    "face_id": face_id,
                    "first_s": round(self._first[face_id], 3),
                    "last_s": round(self._last[face_id], 3),
                    "samples": n,
                    "seconds_seen": round(n * self.period, 2),
                    "share_of_time": shares,
                    "disagreement_share": round(self._disagree_samples[face_id] / n, 4),
                    "disagreements": spans,
                }
            )
        return {"models": self.models, "sample_period_s": round(self.period, 4), "faces": faces}


def summary_markdown(summary: Mapping[str, Any], max_spans: int = 5) -> str:
    """The summary as short Markdown: per face, each model's main emotions and where the models disagree."""
    if not summary["faces"]:
        return "No face was found in the sampled frames."
    lines = []
    for face in summary["faces"]:
        lines.append(
            f"**Face {face['face_id']}**: seen {face['first_s']:.1f}-{face['last_s']:.1f} s "
            f"({face['samples']} samples, about {face['seconds_seen']:.1f} s)"
        )
        for model, shares in face["share_of_time"].items():
            parts = ", ".join(f"{c} {s:.0%}" for c, s in list(shares.items())[:4])
            lines.append(f"- {model}: {parts}")
        if len(summary["models"]) > 1:
            spans = face["disagreements"]
            if not spans:
                lines.append("- the models agree on every sample")
            else:
                shown = "; ".join(
                    f"{s['start_s']:.1f}-{s['end_s']:.1f} s ({', '.join(f'{m}: {t}' for m, t in s['tops'].items())})"
                    for s in spans[:max_spans]
                )
                more = f" and {len(spans) - max_spans} more" if len(spans) > max_spans else ""
                lines.append(f"- models disagree on {face['disagreement_share']:.0%} of samples: {shown}{more}")
        lines.append("")
    return "\n".join(lines)
