"""What users read when something fails: the reason, never a traceback or a path on the server."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import Any

import gradio as gr

from fer.budget import BudgetExceeded

log = logging.getLogger("demo")
# An absolute path (POSIX or Windows) up to its last component: uploads live in server temp folders.
_PATH = re.compile(r"(?:[A-Za-z]:\\|/)(?:[^\s:'\"/\\]+[/\\])+(?=[^\s/\\])")


def without_paths(text: str) -> str:
    """``/tmp/gradio/ab12/photo.png: corrupt`` -> ``photo.png: corrupt``."""
    return _PATH.sub("", text)


def user_message(exc: BaseException) -> str:
    """A one-line message for an expected failure (bad input, a limit), with paths removed."""
    return "⚠️ " + without_paths(str(exc))


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap an event handler: limits become a clear message, unexpected errors a short one (logged in full)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except BudgetExceeded as exc:
            raise gr.Error(without_paths(str(exc))) from None
        except Exception as exc:
            log.exception("event %s failed", getattr(fn, "__name__", fn))
            raise gr.Error(
                f"Something went wrong ({type(exc).__name__}); nothing was changed. The server log has the details."
            ) from None

    return wrapper
