"""Forward-pass options on this CPU, side by side in one run: what could make the four models faster.

For each model (untrained weights, seed 0, batch 1 at its input size, 2 threads, no autograd):

* ``eager``: fp32 channels_last, eval mode: how the zoo ran models before this bench;
* ``nchw``: fp32 in the default (contiguous) memory format, for comparison;
* ``folded``: ``eager`` with BatchNorm folded into the convolutions (``fer.fold_batchnorm``), the zoo's way;
* ``compile``: ``torch.compile`` (inductor) of the folded model; its compile time is reported apart;
* ``onnxruntime``: the model exported with ``torch.onnx.export``, run by ONNX Runtime's CPU provider;
* ``openvino``: the model converted by ``openvino.convert_model``, compiled for CPU (f32, latency hint).

Each option runs the whole forward pass to the logits. That bounds what running only the trunk (the
layers up to the CAM layer) in another runtime could save: the trunk is the bulk of every model (the
part after the CAM layer is pool + head for two models, the small detail head for Conv-cut, and the 8x8
residual blocks and FC layers for ResEmoteNet). Options whose package is missing are skipped; ONNX
Runtime and OpenVINO are not project requirements (``pip install onnxruntime onnx openvino`` to measure).

Options run interleaved round by round, so a busy neighbour slows them alike; we report median wall ms
and the median per-round speed-up over ``eager``, and the same for the process's CPU time (all its
threads), which a busy neighbour disturbs much less than wall time on a shared machine; and we check
each option's probabilities against eager's.

    python bench/trunk_options.py --rounds 7 --json /tmp/trunk.json
    python bench/trunk_options.py --options eager,folded --models psa_resnet50
"""

# ruff: noqa: E402
from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import fer  # before torch: sets the CPU thread policy (fer/threads.py)

# isort: split
import numpy as np
import torch
from torch import nn

from fer.fold_batchnorm import fold_batchnorm

OPTIONS = ["eager", "nchw", "folded", "compile", "onnxruntime", "openvino"]
PROB_TOLERANCE = 1e-5


def build(name: str) -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return fer.build_model(name).eval()


def prepare(option: str, model: nn.Module, x: torch.Tensor, threads: int, workdir: Path) -> Callable[[], np.ndarray]:
    """A no-argument function running ``option``'s forward pass on ``x``, returning probabilities."""
    x_cl = x.contiguous(memory_format=torch.channels_last)
    if option == "eager":
        m = copy.deepcopy(model).to(memory_format=torch.channels_last)
        return lambda: m(x_cl).softmax(1).numpy()
    if option == "nchw":
        m = copy.deepcopy(model)
        return lambda: m(x).softmax(1).numpy()
    if option in ("folded", "compile"):
        m = copy.deepcopy(model)
        fold_batchnorm(m, x)
        m = m.to(memory_format=torch.channels_last)
        if option == "compile":
            m = torch.compile(m)
        return lambda: m(x_cl).softmax(1).numpy()
    if option == "onnxruntime":
        import onnxruntime as ort

        path = workdir / f"{model.spec.name}.onnx"
        torch.onnx.export(model, (x,), path, dynamo=False, input_names=["x"], output_names=["logits"])
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")  # as OMP_WAIT_POLICY=PASSIVE for torch
        session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        feed = {"x": x.numpy()}
        return lambda: torch.from_numpy(session.run(None, feed)[0]).softmax(1).numpy()
    if option == "openvino":
        import openvino as ov

        compiled = ov.Core().compile_model(
            ov.convert_model(model, example_input=x),
            "CPU",
            {
                "INFERENCE_NUM_THREADS": threads,
                "PERFORMANCE_HINT": "LATENCY",
                "INFERENCE_PRECISION_HINT": "f32",
                "ENABLE_CPU_PINNING": False,  # pinned threads suffer most on a shared machine
            },
        )
        x_np = x.numpy()
        return lambda: torch.from_numpy(np.asarray(compiled(x_np)[0])).softmax(1).numpy()
    raise ValueError(f"unknown option {option!r}; known: {', '.join(OPTIONS)}")


def available(option: str) -> bool:
    needs = {"onnxruntime": ("onnxruntime", "onnx"), "openvino": ("openvino",)}.get(option, ())
    return all(importlib.util.find_spec(package) for package in needs)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default=",".join(fer.list_models()))
    p.add_argument("--options", default=",".join(OPTIONS))
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", metavar="PATH", help="also write the results here")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    names, options = args.models.split(","), args.options.split(",")
    skipped = [o for o in options if not available(o)]
    options = [o for o in options if o not in skipped]
    print(f"models {', '.join(names)}; options {', '.join(options)}; {args.rounds} rounds; {args.threads} threads")
    for option in skipped:
        print(f"  {option}: skipped, package not installed")

    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp, torch.no_grad():
        for name in names:
            model = build(name)
            size = model.spec.input.size
            x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(1))
            fns, setup_s, diffs, failed = {}, {}, {}, {}
            for option in options:
                start = time.perf_counter()
                try:
                    fn = prepare(option, model, x, args.threads, Path(tmp))
                    out = fn()  # first call: compiles / warms up, counted as set-up
                except Exception as exc:  # a runtime that cannot take a model is a result, not a crash
                    failed[option] = f"{type(exc).__name__}: {str(exc)[:200]}"
                    continue
                setup_s[option] = time.perf_counter() - start
                fns[option] = fn
                diffs[option] = out
            reference = diffs.get("eager")
            times: dict[str, list[float]] = {o: [] for o in fns}
            cpu: dict[str, list[float]] = {o: [] for o in fns}
            for _ in range(args.rounds + 1):  # the first round warms caches
                for option, fn in fns.items():
                    start, start_cpu = time.perf_counter(), time.process_time()
                    fn()
                    cpu[option].append(time.process_time() - start_cpu)
                    times[option].append(time.perf_counter() - start)
            times = {o: t[1:] for o, t in times.items()}
            cpu = {o: t[1:] for o, t in cpu.items()}
            row = {}
            for option in fns:
                speedups = [e / t for e, t in zip(times["eager"], times[option])] if "eager" in times else []
                cpu_speedups = [e / t for e, t in zip(cpu["eager"], cpu[option])] if "eager" in cpu else []
                diff = float(np.abs(diffs[option] - reference).max()) if reference is not None else None
                row[option] = {
                    "median_ms": 1000 * statistics.median(times[option]),
                    "speedup_over_eager": statistics.median(speedups) if speedups else None,
                    "median_cpu_ms": 1000 * statistics.median(cpu[option]),
                    "cpu_saving_over_eager": statistics.median(cpu_speedups) if cpu_speedups else None,
                    "setup_s": setup_s[option],
                    "max_prob_diff": diff,
                    "equal_within_tolerance": diff is not None and diff <= PROB_TOLERANCE,
                }
            results[name] = {"options": row, "failed": failed}
            print(f"\n{name} (input {size}x{size})")
            print(
                f"  {'option':<12} {'wall ms':>8} {'x eager':>8} {'CPU ms':>8} {'x eager':>8} "
                f"{'set-up s':>9} {'max |dp|':>9}"
            )
            for option, r in row.items():
                ok = "" if r["equal_within_tolerance"] else "  (differs)"
                print(
                    f"  {option:<12} {r['median_ms']:>8.1f} {r['speedup_over_eager']:>7.2f}x "
                    f"{r['median_cpu_ms']:>8.1f} {r['cpu_saving_over_eager']:>7.2f}x "
                    f"{r['setup_s']:>9.1f} {r['max_prob_diff']:>9.1e}{ok}"
                )
            for option, why in failed.items():
                print(f"  {option:<12} failed: {why}")

    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        settings = {"threads": args.threads, "rounds": args.rounds, "torch": torch.__version__}
        Path(args.json).write_text(json.dumps({"settings": settings, "models": results}, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
