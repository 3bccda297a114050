"""The Gradio studio: a thin layer over the ``fer`` library."""

from demo.app import build_demo

__all__ = ["build_demo"]
