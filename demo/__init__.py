"""The Gradio studio: a thin layer over the ``fer`` library."""

from demo.app import CSS, build_demo

__all__ = ["CSS", "build_demo"]
