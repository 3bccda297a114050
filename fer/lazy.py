"""Module attributes that import their module on first use (PEP 562), so heavy imports stay optional."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_getattr(module: str, where: dict[str, str], namespace: dict[str, Any]) -> Callable[[str], object]:
    """A module-level ``__getattr__``: ``where`` maps each name to the module that defines it; the value is
    imported on first access and cached in ``namespace`` (the caller's ``globals()``)."""

    def __getattr__(name: str) -> object:
        if name not in where:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where[name]), name)
        namespace[name] = value
        return value

    return __getattr__
