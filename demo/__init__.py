"""The Gradio studio: a thin layer over the ``fer`` library."""

from demo.app import CSS, JS, THEME, build_demo

__all__ = ["CSS", "JS", "THEME", "build_demo"]
