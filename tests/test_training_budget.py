"""--time-budget: training stops at the budget, keeps the best checkpoint, says so, and --resume goes on exactly."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
import torch
from test_training import synthetic_bundle
from tiny_model import tiny_model_registered

import fer
from fer.training import config_from_recipe
from fer.training import loop as loop_module
from fer.training.run import train_model


@pytest.fixture
def tiny() -> None:
    with tiny_model_registered():
        yield


class FakeClock:
    """time.monotonic for the loop: one second passes per call, so where the budget ends is deterministic."""

    def __init__(self) -> None:
        self.ticks = itertools.count()

    def monotonic(self) -> float:
        return float(next(self.ticks))

    def __getattr__(self, name: str) -> object:
        import time

        return getattr(time, name)


def rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


def test_budget_stops_mid_epoch_keeps_the_best_and_records_it(
    tmp_path: Path, tiny: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loop_module, "time", FakeClock())
    # 448 images, batch 32: 14 steps an epoch. One tick at the start, one per epoch, one per step:
    # a 20 s budget ends in epoch 2 after 5 of its 14 steps.
    config = config_from_recipe("tiny_cnn", time_budget_minutes=20 / 60)
    data = synthetic_bundle()
    result = train_model(config, data, tmp_path, device=torch.device("cpu"), progress=False, log=lambda s: None)
    assert result["stop_reason"] == "time_budget" and result["budget_limited"]
    assert result["epochs_run"] == 1  # whole epochs; the partial one is in the log and the summary
    assert 1 < result["epochs_completed"] < 2
    log = rows(tmp_path)
    assert [r["epoch"] for r in log] == [1, 2]
    assert log[1]["budget_stop"] and log[1]["epoch_fraction"] == pytest.approx(result["epochs_completed"] - 1)
    assert "budget_stop" not in log[0]
    meta = json.loads((tmp_path / "meta.json").read_text())
    training = meta["training"]
    assert training["budget_limited"] and training["stop_reason"] == "time_budget"
    assert training["epochs_completed"] == result["epochs_completed"] and training["recipe_epochs"] == 12
    assert training["time_budget_minutes"] == pytest.approx(20 / 60)
    best = max(log, key=lambda r: r["val_acc"])
    assert meta["epoch"] == best["epoch"]  # the best of the whole and the partial epoch is what was kept
    assert (tmp_path / "metrics.json").exists()  # evaluated like any run
    saved = torch.load(tmp_path / "resume.pt", weights_only=True)
    assert saved["state"]["epoch"] == 1  # resume.pt stays at the last whole epoch

    # --resume without a budget finishes the recipe from epoch 2, and the partial epoch leaves the log.
    monkeypatch.undo()
    config = config_from_recipe("tiny_cnn")
    resumed = train_model(
        config, data, tmp_path, device=torch.device("cpu"), resume=True, progress=False, log=lambda s: None
    )
    assert resumed["stop_reason"] in ("completed", "early_stop") and not resumed["budget_limited"]
    log = rows(tmp_path)
    assert [r["epoch"] for r in log] == list(range(1, len(log) + 1))
    assert not any(r.get("budget_stop") for r in log)
    assert fer.load_checkpoint(tmp_path)[1]["training"]["budget_limited"] is False


def test_budget_spent_between_epochs_marks_the_last_whole_epoch(
    tmp_path: Path, tiny: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loop_module, "time", FakeClock())
    # 96 images, batch 32: 3 steps (ticks at steps 1 and 2) + 1 at the epoch start: 3 ticks an epoch.
    config = config_from_recipe("tiny_cnn", time_budget_minutes=6.5 / 60)
    result = train_model(
        config, synthetic_bundle(96, 35, 35), tmp_path, device=torch.device("cpu"), progress=False, log=lambda s: None
    )
    assert result["budget_limited"] and result["epochs_completed"] == result["epochs_run"] == 2
    log = rows(tmp_path)
    assert [r["epoch"] for r in log] == [1, 2] and log[-1]["budget_stop"]


def test_train_py_time_budget_flag(tmp_path: Path) -> None:
    import train

    args = train.parse_args(["--model", "convcut", "--data", "x", "--time-budget", "2.5"])
    assert train.overrides(args)["time_budget_minutes"] == 2.5
