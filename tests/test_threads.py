"""CPU thread settings: passive OpenMP waits and a thread count from the usable cores, before torch loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fer import threads

ROOT = Path(__file__).resolve().parents[1]

# Runs an entry point's imports (not its main) up to its first `import torch`, and prints the environment
# at that moment; stopping there keeps the test fast (torch never loads).
PROBE = """
import importlib.abc, json, os, runpy, sys
class TorchImported(Exception):
    pass
class Probe(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "torch":
            raise TorchImported({k: os.environ.get(k) for k in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")})
        return None
sys.meta_path.insert(0, Probe())
target = sys.argv[1]
# What `python FILE` and `python -m MODULE` put first on sys.path: the script's folder, or the working directory.
sys.path.insert(0, os.path.dirname(os.path.abspath(target)) if target.endswith(".py") else os.getcwd())
try:
    if target.endswith(".py"):
        sys.argv = [target]
        runpy.run_path(target, run_name="entry_point_probe")
    else:
        runpy.run_module(target, run_name="entry_point_probe")
except TorchImported as seen:
    print(json.dumps(seen.args[0]))
"""

ENTRY_POINTS = ["app.py", "train.py", "fer.__main__", "bench/analyze_latency.py", "bench/train_throughput.py"]


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_every_entry_point_sets_the_thread_policy_before_torch_loads(entry_point: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "MKL_"))}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, entry_point], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen == {"OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": str(threads.available_cpus())}


def test_user_settings_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "torch")  # pretend torch is not loaded yet; restored after the test
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    assert threads.configure_cpu_threads() == {}
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE" and os.environ["OMP_NUM_THREADS"] == "1"
    assert "MKL_NUM_THREADS" not in os.environ  # the user's one count is not second-guessed


def test_unset_variables_get_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "torch")
    for name in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    count = str(threads.available_cpus())
    assert threads.configure_cpu_threads() == {
        "OMP_WAIT_POLICY": "PASSIVE",
        "OMP_NUM_THREADS": count,
        "MKL_NUM_THREADS": count,
    }


def test_nothing_changes_once_torch_is_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch  # noqa: F401

    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    assert threads.configure_cpu_threads() == {}
    assert "OMP_WAIT_POLICY" not in os.environ


@pytest.mark.parametrize(
    ("files", "cores"),
    [
        ({"cpu.max": "200000 100000\n"}, 2.0),
        ({"cpu.max": "150000 100000\n"}, 1.5),
        ({"cpu.max": "max 100000\n"}, None),
        ({"cpu/cpu.cfs_quota_us": "400000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 4.0),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        ({}, None),
        ({"cpu.max": "garbage\n"}, None),
    ],
)
def test_cgroup_quota_v1_and_v2(tmp_path: Path, files: dict[str, str], cores: float | None) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert threads.cgroup_cpu_limit(tmp_path) == cores


def test_available_cpus_respects_affinity_and_quota(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)), raising=False)
    monkeypatch.setattr(threads, "cgroup_cpu_limit", lambda: 1.5)
    assert threads.available_cpus() == 2
    monkeypatch.setattr(threads, "cgroup_cpu_limit", lambda: None)
    assert threads.available_cpus() == 64
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3}, raising=False)
    assert threads.available_cpus() == 1
