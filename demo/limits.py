"""What one request may cost: sizes, time limits, how many run at once, and when Score-CAM is allowed.

The README's *Limits* section states these numbers; change both together.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from fer.budget import Budget, time_limit

MAX_UPLOAD = "25mb"  # Gradio's max_file_size: photos and zips larger than this are refused at upload
DELETE_CACHE = (600, 1800)  # Gradio deletes its uploaded and temporary files older than 30 min, every 10 min
HEAVY = "models"  # one concurrency id for every event that runs the models: at most HEAVY_SLOTS at once
HEAVY_SLOTS = 2  # two CPU cores: more at once only splits them further and adds memory
MAX_FACES = 8  # faces analysed per photo, largest first
ANALYZE_TIME_LIMIT_S = 60.0  # Analyze, /predict, Explain and a Confusion drill-down
EVALUATE_TIME_LIMIT_S = 300.0  # Evaluate your data: reading the zip and the four models together
SCORE_CAM = "scorecam"


def score_cam_refusal(models: Sequence[str], n_faces: int, estimate: str = "") -> str | None:
    """Why a Score-CAM request is refused, or None: it runs the model once per channel, so one model, one face."""
    if len(models) <= 1 and n_faces <= 1:
        return None
    why = f"{len(models)} models" if len(models) > 1 else f"{n_faces} faces in this photo"
    return (
        "Score-CAM runs the model once per channel of the explained layer (hundreds of passes"
        f"{estimate}), so it is offered for one model and a photo with one face; this request has {why}. "
        "Choose one model and a one-face photo, or another CAM method (Grad-CAM takes a fraction of a second)."
    )


def client_gone() -> Callable[[], bool]:
    """For the event now running in Gradio: a callable that is True once its client has disconnected.

    Gradio marks an event dead when its browser tab or client goes away, but cannot stop a function
    already running in a thread: the budget checks this at every step and stops the work instead.
    Outside an event (tests, the library) it is always False.
    """
    try:
        from gradio.context import LocalContext

        blocks, event_id = LocalContext.blocks.get(None), LocalContext.event_id.get(None)
    except (ImportError, AttributeError):
        return lambda: False
    if blocks is None or event_id is None:
        return lambda: False

    def gone() -> bool:
        queue = getattr(blocks, "_queue", None)
        for job in getattr(queue, "active_jobs", None) or ():
            for event in job or ():
                if getattr(event, "_id", None) == event_id:
                    return not getattr(event, "alive", True)
        return False

    return gone


@contextmanager
def request_budget(seconds: float, what: str) -> Iterator[Budget]:
    """A time limit for one event, cancelled early when its client disconnects."""
    with time_limit(seconds, what=what, cancelled=client_gone()) as budget:
        yield budget
