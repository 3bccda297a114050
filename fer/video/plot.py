"""The interactive timeline of one face: a plotly figure with a panel per model and a line per class."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from fer.video.timeline import class_columns, smooth


def timeline_figure(timeline: pd.DataFrame, face_id: int, window: int = 1, marker_s: float | None = None) -> go.Figure:
    """Probabilities of every class over time for ``face_id``, one panel per model, smoothed over ``window``
    samples (moving average; 1: raw). ``marker_s`` draws a vertical line at that time (the frame shown)."""
    rows = smooth(timeline[timeline["face_id"] == face_id], window)
    models = list(dict.fromkeys(rows["model"]))
    classes = class_columns(timeline)
    colors = {c: qualitative.Plotly[i % len(qualitative.Plotly)] for i, c in enumerate(classes)}
    fig = make_subplots(
        rows=max(len(models), 1), cols=1, shared_xaxes=True, vertical_spacing=0.08, subplot_titles=models or None
    )
    for r, model in enumerate(models, start=1):
        part = rows[rows["model"] == model].sort_values("time_s")
        for c in classes:
            if part[c].isna().all():
                continue  # a class this model does not have
            fig.add_trace(
                go.Scatter(
                    x=part["time_s"],
                    y=part[c],
                    mode="lines",
                    name=c,
                    legendgroup=c,
                    showlegend=r == 1,
                    line={"color": colors[c], "width": 2},
                    hovertemplate=f"{c} %{{y:.0%}} at %{{x:.1f}} s<extra>{model}</extra>",
                ),
                row=r,
                col=1,
            )
        fig.update_yaxes(range=[0, 1], tickformat=".0%", row=r, col=1)
    if marker_s is not None:
        fig.add_vline(x=marker_s, line={"color": "black", "dash": "dot", "width": 1})
    smoothing = f", moving average over {window} samples" if window > 1 else ""
    fig.update_layout(
        title=f"Face {face_id}{smoothing}",
        height=140 + 200 * max(len(models), 1),
        margin={"l": 50, "r": 20, "t": 70, "b": 40},
        hovermode="x unified",
    )
    fig.update_xaxes(title_text="time (s)", row=max(len(models), 1), col=1)
    return fig
