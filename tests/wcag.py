"""WCAG 2 contrast of two sRGB colours, written "#rrggbb" (the theme) or "rgb(r, g, b)" (a browser)."""

from __future__ import annotations


def _channels(colour: str) -> list[float]:
    colour = colour.strip()
    if colour.startswith("#"):
        return [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    return [int(c) / 255 for c in colour[colour.index("(") + 1 : colour.index(")")].split(",")[:3]]


def luminance(colour: str) -> float:
    """Relative luminance (WCAG 2)."""
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in _channels(colour)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio, from 1 (same luminance) to 21 (black on white)."""
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)
