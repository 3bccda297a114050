"""Publish a trained checkpoint to the Hugging Face Hub: ``python -m fer push CHECKPOINT_DIR --repo user/name``.

What goes up: the weights, ``meta.json``, ``metrics.json`` and ``log.jsonl`` when present, the confusion
matrix as a PNG, and a model card (``README.md``) whose YAML header carries the Hub's ``model-index``
(task, dataset, split, accuracy and macro-F1). ``predictions.npz`` never goes up: it holds thumbnails
of the evaluation faces, and FER2013 and its relatives are for research use only, not redistribution.
Neither does ``resume.pt`` (optimiser state, several times the model's size).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from fer.checkpoints import META_FILE, WEIGHTS_FILE, CheckpointError, hub_reachable
from fer.registry import get_spec

METRICS_FILE = "metrics.json"
LOG_FILE = "log.jsonl"
CONFUSION_FILE = "confusion_matrix.png"
CARD_FILE = "README.md"

# Licences and terms of the datasets the readers know, as the card must state them.
DATA_TERMS = {
    "fer2013": "FER2013 (Goodfellow et al., ICML 2013 challenge) is distributed for research use only.",
    "ferplus": "FERPlus relabels FER2013 (research use only); its votes are under Microsoft's MIT-licensed repo.",
    "raf-db": "RAF-DB is released for non-commercial research use under its own agreement.",
}


class PublishError(RuntimeError):
    """The checkpoint cannot be published (missing files, or the Hub is unreachable)."""


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        value = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PublishError(f"{path}: unreadable JSON ({exc})") from exc
    return value if isinstance(value, dict) else None


def model_card(meta: dict[str, Any], metrics: dict[str, Any] | None, repo_id: str) -> str:
    """The card's text: YAML header with ``model-index``, then what it is, how it was trained, how it scores."""
    from huggingface_hub import EvalResult, ModelCardData

    spec = get_spec(meta["model"])
    data = meta.get("data") or {}
    dataset = (metrics or {}).get("dataset") or data.get("name") or "unknown"
    split = (metrics or {}).get("split")
    training = meta.get("training") or {}
    recipe = meta.get("recipe") or {}
    results = []
    if metrics:
        for metric, key, label in (("accuracy", "accuracy", "Accuracy"), ("f1", "macro_f1", "Macro-F1")):
            results.append(
                EvalResult(
                    task_type="image-classification",
                    task_name="Facial expression recognition",
                    dataset_type=dataset.lower(),
                    dataset_name=dataset,
                    dataset_split=split,
                    metric_type=metric,
                    metric_name=label,
                    metric_value=round(float(metrics[key]), 4),
                )
            )
    card_data = ModelCardData(
        model_name=repo_id.split("/")[-1],
        library_name="pytorch",
        pipeline_tag="image-classification",
        tags=["facial-expression-recognition", "fer", spec.name, "safetensors"],
        datasets=[dataset.lower()] if dataset != "unknown" else None,
        metrics=["accuracy", "f1"],
        eval_results=results or None,
    )
    reported = ", ".join(f"{k} {v}%" for k, v in spec.reported.items())
    classes = ", ".join(meta.get("class_names") or [])
    epochs = training.get("epochs_completed", meta.get("epoch"))
    budget = (
        f"stopped by a time budget of {training['time_budget_minutes']} min after {epochs} of the recipe's "
        f"{training.get('recipe_epochs')} epochs"
        if training.get("budget_limited")
        else f"{epochs} of the recipe's {training.get('recipe_epochs', recipe.get('epochs'))} epochs"
    )
    score = (
        f"| {dataset} | {split} | {metrics['n_samples']} | {metrics['accuracy']:.4f} | {metrics['macro_f1']:.4f} |"
        if metrics
        else "| not evaluated | | | | |"
    )
    terms = next((t for k, t in DATA_TERMS.items() if k in dataset.lower().replace(" ", "")), None)
    pretrained = "ImageNet weights (torchvision)" if recipe.get("pretrained") else "from scratch (random init)"
    body = f"""
# {spec.display_name}: {dataset}

A checkpoint of `{spec.name}` from the FER explainability studio, a re-implementation of
*{spec.paper.title}* ({spec.paper.authors}, {spec.paper.year}). The paper reports: {reported}.

## Results

| dataset | split | images | accuracy | macro-F1 |
| --- | --- | --- | --- | --- |
{score}

{"![confusion matrix](" + CONFUSION_FILE + ")" if metrics else ""}

## Training

- Started {pretrained}; the paper's recipe: {recipe.get("optimizer")} lr {recipe.get("lr")},
  batch {recipe.get("batch_size")}, input {recipe.get("img_size") or spec.input.size} px, seed {recipe.get("seed")}.
- Ran {budget}; best epoch {meta.get("epoch")} by validation accuracy.
- Device: {training.get("device", "unknown")} x {training.get("processes", 1)}, torch {training.get("torch", "?")},
  {training.get("train_minutes", "?")} min of training.
- Data: {data.get("name", dataset)}, {data.get("train_images", "?")} training images. Classes: {classes}.

## Use

```python
import fer
model, meta = fer.load_checkpoint("{repo_id}")
```

## Intended use and limitations

For research and teaching: to study how facial-expression models decide, with the studio's explanations.
Not for decisions about people (hiring, policing, health, emotion surveillance): facial expressions do not
reliably reveal inner states, and models trained on posed or web-scraped faces carry their biases (age,
skin tone, culture, pose, occlusion). Accuracy on other data will be lower than above.
{("Data terms: " + terms) if terms else "Check the training data's terms before any use."}
The evaluation faces are not included here.
"""
    return f"---\n{card_data.to_yaml()}\n---\n{body.lstrip()}"


def confusion_png(metrics: dict[str, Any], path: Path) -> Path:
    """The confusion matrix (rows normalised, counts in the cells) as a PNG, drawn with matplotlib."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    cm = np.asarray(metrics["confusion_matrix"], dtype=float)
    names = metrics["class_names"]
    rates = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.0 + 0.8 * len(names), 0.8 + 0.7 * len(names)), dpi=100)
    im = ax.imshow(rates, cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(j, i, int(cm[i, j]), ha="center", va="center", color="white" if rates[i, j] < 0.6 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046, label="share of the true class")
    ax.set_title(f"{metrics.get('dataset', '')} {metrics.get('split', '')}: accuracy {metrics['accuracy']:.3f}")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def stage_for_push(checkpoint_dir: str | os.PathLike, staging: str | os.PathLike, repo_id: str) -> list[str]:
    """Lay out in ``staging`` exactly what :func:`push_checkpoint` uploads; returns the file names."""
    src, dst = Path(checkpoint_dir), Path(staging)
    meta = _read_json(src / META_FILE)
    if meta is None or not (src / WEIGHTS_FILE).exists():
        raise PublishError(f"{src}: not a checkpoint directory (needs {WEIGHTS_FILE} and {META_FILE})")
    if "model" not in meta:
        raise PublishError(f"{src / META_FILE}: no model id")
    try:
        get_spec(meta["model"])
    except KeyError as exc:
        raise PublishError(f"{src / META_FILE}: {exc.args[0]}") from None
    metrics = _read_json(src / METRICS_FILE)
    dst.mkdir(parents=True, exist_ok=True)
    files = [WEIGHTS_FILE, META_FILE]
    for name in (METRICS_FILE, LOG_FILE):
        if (src / name).exists():
            files.append(name)
    for name in files:
        shutil.copy2(src / name, dst / name)
    if metrics:
        confusion_png(metrics, dst / CONFUSION_FILE)
        files.append(CONFUSION_FILE)
    (dst / CARD_FILE).write_text(model_card(meta, metrics, repo_id))
    files.append(CARD_FILE)
    return sorted(files)


def push_checkpoint(
    checkpoint_dir: str | os.PathLike,
    repo_id: str,
    *,
    token: str | None = None,
    private: bool = False,
    path_in_repo: str | None = None,
) -> str:
    """Upload the checkpoint with its card to ``repo_id`` (created if needed); returns the commit URL.

    ``path_in_repo`` puts it in a folder of the repo (e.g. the model id, the layout the app reads from
    ``FER_CHECKPOINTS=user/repo``). Fails at once with :class:`PublishError` when the Hub is unreachable.
    """
    import tempfile

    if repo_id.count("/") != 1:
        raise PublishError(f"{repo_id!r}: a Hub repo id is user/name")
    with tempfile.TemporaryDirectory(prefix="fer-push-") as staging:
        files = stage_for_push(checkpoint_dir, staging, repo_id)
        if not hub_reachable():
            raise PublishError(
                f"cannot push to {repo_id}: the Hugging Face Hub is unreachable from this machine (offline, or "
                "HF_HUB_OFFLINE is set). Nothing was uploaded; the checkpoint is unchanged."
            )
        from huggingface_hub import HfApi

        api = HfApi(token=token)
        try:
            api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
            commit = api.upload_folder(
                repo_id=repo_id,
                folder_path=staging,
                path_in_repo=path_in_repo,
                commit_message=f"Upload {', '.join(files)}",
            )
        except CheckpointError:
            raise
        except Exception as exc:  # auth, permissions, network errors: one clear line
            raise PublishError(f"pushing to {repo_id} failed: {type(exc).__name__}: {exc}") from exc
    return str(getattr(commit, "commit_url", commit))


def half_precision_copy(checkpoint_dir: str | os.PathLike, target: str | os.PathLike) -> str:
    """Copy a checkpoint with its weights in float16 (half the size; the model computes in float32 after
    loading), with its ``metrics.json``, ``log.jsonl`` and ``predictions.npz`` (features in float16).

    This is how a small trained default fits a Hugging Face Space without Git LFS (under 10 MB).
    Returns a one-line summary of the sizes.
    """
    import numpy as np

    from fer.checkpoints import load_checkpoint, save_checkpoint

    src, dst = Path(checkpoint_dir), Path(target)
    model, meta = load_checkpoint(src)
    keep = {k: v for k, v in meta.items() if k not in ("source", "weights_sha256", "created", "code_version")}
    save_checkpoint(model.half(), dst, **keep, weights_dtype="float16")
    for name in (METRICS_FILE, LOG_FILE):
        if (src / name).exists():
            shutil.copy2(src / name, dst / name)
    if (src / "predictions.npz").exists():
        with np.load(src / "predictions.npz") as d:
            arrays = {k: (d[k].astype(np.float16) if k == "features" else d[k]) for k in d.files}
        np.savez_compressed(dst / "predictions.npz", **arrays)
    sizes = {p.name: p.stat().st_size for p in sorted(dst.iterdir())}
    return f"{dst}: " + ", ".join(f"{k} {v / 2**20:.2f} MiB" for k, v in sizes.items())
