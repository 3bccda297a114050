"""The Gradio studio: a thin layer over the ``fer`` library."""

from demo.app import CSS, THEME, build_demo

__all__ = ["CSS", "THEME", "build_demo"]
