"""About: model cards (what the paper says, what we do), how to train, data licences, reported vs reproduced."""

from __future__ import annotations

from typing import Any

import gradio as gr

import fer
from demo.studio import Studio

TRAINING = """
### Training
```bash
python train.py --model resemotenet --data path/to/fer2013     # the paper's recipe; every knob has a flag
python train.py --model all --data fer2013.csv --out checkpoints   # the four in turn
python -m fer evaluate --checkpoint checkpoints/resemotenet --data ck+/ --out eval/ck
```
Checkpoints land in `checkpoints/<model>/` with their evaluation artifact, where this app finds them.
"""

LICENCES = """
### Data licences
FER2013 (Carrier & Courville, ICML 2013 workshop) has no clear redistribution licence: research use only;
this app ships none of it. FERPlus labels are MIT-licensed (Microsoft) but label FER2013 images. RAF-DB,
CK+ and JAFFE are available from their authors under research agreements. The example photos are
scikit-image's public-domain images.
"""


def model_card(name: str) -> str:
    spec = fer.get_spec(name)
    says = "\n".join(f"- {line}" for line in spec.paper_says)
    we = "\n".join(f"- {line}" for line in spec.we_do)
    reported = ", ".join(f"{k} {v:.2f}%" for k, v in spec.reported.items())
    return (
        f"### {spec.display_name}\n*{spec.paper.title}*, {spec.paper.authors}"
        f"{f' ({spec.paper.year})' if spec.paper.year else ''}. Reported: {reported}.\n\n"
        f"**The paper says**\n{says}\n\n**We do**\n{we}\n"
    )


def reproduced_table(studio: Studio) -> str:
    lines = ["| model | paper reports | our checkpoint |", "| --- | --- | --- |"]
    for name in fer.list_models():
        spec, art = fer.get_spec(name), studio.artifact(name)
        ours = f"{art.metrics['accuracy']:.2%} on {art.label}" if art else "no checkpoint evaluated yet"
        lines.append(
            f"| {spec.display_name} | {', '.join(f'{k} {v:.2f}%' for k, v in spec.reported.items())} | {ours} |"
        )
    return "### Reported versus reproduced\n" + "\n".join(lines)


def build(studio: Studio, shared: dict[str, Any]) -> None:
    table = gr.Markdown()
    for name in fer.list_models():
        with gr.Accordion(fer.get_spec(name).display_name, open=False):
            gr.Markdown(model_card(name))
    gr.Markdown(TRAINING + LICENCES)
    shared["about_refresh"] = (lambda: reproduced_table(studio), [], [table])
