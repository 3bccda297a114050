"""python -m fer reproduce: paper vs ours per model, the split named honestly, runs of one model at a time merged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from tiny_model import tiny_model_registered

from fer.training.reproduce import paper_accuracy, reproduce, results_markdown


@pytest.fixture
def tiny() -> None:
    with tiny_model_registered():
        yield


def test_reproduce_writes_results_and_merges_calls(tmp_path: Path, tiny: None) -> None:
    logs: list[str] = []
    cpu = torch.device("cpu")
    reproduce(tmp_path, quick=True, models=["tiny_cnn"], device=cpu, progress=False, log=logs.append)
    results = reproduce(
        tmp_path, quick=True, models=["tiny_plain"], time_budget_per_model=5, device=cpu, progress=False, log=print
    )
    assert sorted(results["models"]) == ["tiny_cnn", "tiny_plain"]  # the second call kept the first's row
    row = results["models"]["tiny_plain"]
    assert row["split"] == "test" and row["split_note"] == "official test split" and row["n_samples"] == 16
    assert row["epochs_completed"] == 1 and row["recipe_epochs"] == 12 and not row["budget_limited"]
    assert row["device"] == "cpu" and row["torch"] == torch.__version__
    assert row["paper_accuracy"] == 100.0  # the tiny spec "reports" 100% on synthetic faces
    assert 0 <= row["accuracy"] <= 100 and (tmp_path / "tiny_plain" / "model.safetensors").exists()
    on_disk = json.loads((tmp_path / "results.json").read_text())
    assert on_disk["models"] == results["models"] and on_disk["quick"] is True
    md = (tmp_path / "results.md").read_text()
    assert "| tiny_cnn | synthetic | test (16) | 100.00 |" in md and "--quick" in md


def test_paper_accuracy_matching_and_validation_split_note() -> None:
    assert paper_accuracy("resemotenet", "FER2013") == 79.79
    assert paper_accuracy("resemotenet", "raf_db") == 94.76
    assert paper_accuracy("convcut", "FER2013") is None
    row = {
        "dataset": "FER2013",
        "split": "val",
        "n_samples": 3589,
        "paper_accuracy": 79.79,
        "accuracy": 61.2,
        "macro_f1": 55.0,
        "epochs_completed": 3.5,
        "recipe_epochs": 80,
        "budget_limited": True,
        "minutes": 1.8,
        "pretrained": False,
        "device": "NVIDIA H100",
    }
    md = results_markdown(
        {"models": {"resemotenet": row}, "device": "x", "processes": 1, "torch": "2.11", "python": "3.12"}
        | {"seed": 0, "data": "fer2013"}
    )
    assert "| resemotenet | FER2013 | val (3589) | 79.79 | 61.20 | 55.00 | 3.5 / 80 (time budget) |" in md
    assert "no official test split" in md
