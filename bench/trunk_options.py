"""Forward-pass options on this CPU, side by side in one run: what could make the four models faster.

For each model (untrained weights, seed 0, at its input size, 2 threads, no autograd):

* ``eager``: fp32 channels_last, eval mode (with ``--part trunk``: BatchNorm folded too, the zoo's way today);
* ``nchw``: fp32 in the default (contiguous) memory format, for comparison;
* ``folded``: ``eager`` with BatchNorm folded into the convolutions (``fer.fold_batchnorm``);
* ``compile``: ``torch.compile`` (inductor) of the folded model; its compile time is reported apart;
* ``jit``: TorchScript trace, ``torch.jit.freeze`` and ``torch.jit.optimize_for_inference`` (oneDNN fusions);
* ``onednn``: ``torch.utils.mkldnn.to_mkldnn``, weights and activations in oneDNN's blocked layout;
* ``eager1``: ``eager`` on one thread instead of two;
* ``bf16``: ``eager`` under ``torch.autocast`` to bfloat16: NOT exact (see the difference column);
* ``onnxruntime``: the model exported with ``torch.onnx.export``, run by ONNX Runtime's CPU provider;
* ``openvino``: the model converted by ``openvino.convert_model``, compiled for CPU (f32, latency hint);
* ``openvino_bf16``: the same in bfloat16 (OpenVINO's default on CPUs with BF16): NOT exact.

``--part whole`` (default) runs the whole forward pass to the probabilities; ``--part trunk`` runs only the
layers up to each model's CAM layer (``fer.runtime.split``), the part ``fer.runtime`` may hand to another
runtime (the tail stays in torch for the gradients), at each of ``--batches`` (analyze runs a batch of all
faces; the occlusion test four images per face). Options whose package is missing are skipped
(``pip install onnxruntime onnx openvino`` to measure them).

Options run interleaved round by round, so a busy neighbour slows them alike; we report median wall ms
and the median per-round speed-up over ``eager``, and the same for the process's CPU time (all its
threads), which a busy neighbour disturbs much less than wall time on a shared machine; and we check
each option's output against eager's (probabilities; trunk activations relative to their largest value).

    python bench/trunk_options.py --rounds 7 --json /tmp/trunk.json
    python bench/trunk_options.py --part trunk --batches 1,4 --options eager,jit,onnxruntime,openvino
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
from fer.runtime.split import split_model

OPTIONS = [
    "eager",
    "nchw",
    "folded",
    "compile",
    "jit",
    "onednn",
    "eager1",
    "bf16",
    "onnxruntime",
    "openvino",
    "openvino_bf16",
]
PROB_TOLERANCE = 1e-5
TRUNK_TOLERANCE = 1e-4  # trunk activations, relative to the largest (fer.runtime.trunk.TOLERANCE)


def build(name: str) -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return fer.build_model(name).eval()


def prepare(
    option: str, model: nn.Module, x: torch.Tensor, threads: int, workdir: Path, trunk: bool = False
) -> Callable[[], np.ndarray]:
    """A no-argument function running ``option``'s forward pass on ``x``: probabilities, or with ``trunk``
    the CAM layer's activation (the model cut by ``fer.runtime.split``)."""
    x_cl = x.contiguous(memory_format=torch.channels_last)
    finish = (lambda out: out.numpy()) if trunk else (lambda out: out.softmax(1).numpy())
    model = copy.deepcopy(model)  # every option gets its own copy: memory-format changes stay in it
    if trunk or option in ("folded", "compile"):
        fold_batchnorm(model, x)  # with trunk, every option starts from the zoo's model (folded)
    if trunk:
        model = split_model(model).trunk
    if option in ("eager", "folded", "compile"):
        m = model.to(memory_format=torch.channels_last)
        if option == "compile":
            m = torch.compile(m)
        return lambda: finish(m(x_cl))
    if option == "nchw":  # the same weights in the default memory format
        return lambda: finish(model(x))
    if option == "eager1":  # the same as eager on one thread: does the second core pay on this model?
        m = model.to(memory_format=torch.channels_last)

        def one_thread() -> np.ndarray:
            torch.set_num_threads(1)
            try:
                return finish(m(x_cl))
            finally:
                torch.set_num_threads(threads)

        return one_thread
    if option == "bf16":  # autocast to bfloat16 (this CPU has AVX512-BF16): not exact, shown for its cost
        m = model.to(memory_format=torch.channels_last)

        def bf16() -> np.ndarray:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return finish(m(x_cl).float())

        return bf16
    if option == "jit":  # TorchScript, frozen, with torch's inference rewrites (conv-add-relu fusion, oneDNN)
        m = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(model, x_cl)))
        return lambda: finish(m(x_cl))
    if option == "onednn":  # weights and activations in oneDNN's blocked layout (torch's mkldnn tensors)
        from torch.utils import mkldnn as mkldnn_utils

        m = mkldnn_utils.to_mkldnn(model)
        return lambda: finish(m(x.to_mkldnn()).to_dense())
    if option == "onnxruntime":
        import onnxruntime as ort

        path = workdir / f"{model.__class__.__name__}-{id(model)}.onnx"
        torch.onnx.export(model, (x,), path, dynamo=False, input_names=["x"], output_names=["y"])
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")  # as OMP_WAIT_POLICY=PASSIVE for torch
        session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        feed = {"x": x.numpy()}
        return lambda: finish(torch.from_numpy(session.run(None, feed)[0]))
    if option in ("openvino", "openvino_bf16"):
        import openvino as ov

        compiled = ov.Core().compile_model(
            ov.convert_model(model, example_input=x),
            "CPU",
            {
                "INFERENCE_NUM_THREADS": threads,
                "PERFORMANCE_HINT": "LATENCY",
                "INFERENCE_PRECISION_HINT": "bf16" if option == "openvino_bf16" else "f32",
                "ENABLE_CPU_PINNING": False,  # pinned threads suffer most on a shared machine
            },
        )
        x_np = x.numpy()
        return lambda: finish(torch.from_numpy(np.asarray(compiled(x_np)[0])))
    raise ValueError(f"unknown option {option!r}; known: {', '.join(OPTIONS)}")


def available(option: str) -> bool:
    needs = {"onnxruntime": ("onnxruntime", "onnx"), "openvino": ("openvino",)}.get(option, ())
    return all(importlib.util.find_spec(package) for package in needs)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default=",".join(fer.list_models()))
    p.add_argument("--options", default=",".join(OPTIONS))
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--part", choices=["whole", "trunk"], default="whole", help="the whole model, or its trunk")
    p.add_argument("--batches", default="1", help="batch sizes, e.g. 1,4 (analyze: a batch per face set)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", metavar="PATH", help="also write the results here")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    names, options = args.models.split(","), args.options.split(",")
    batches = [int(b) for b in args.batches.split(",")]
    skipped = [o for o in options if not available(o)]
    options = [o for o in options if o not in skipped]
    print(f"models {', '.join(names)}; options {', '.join(options)}; {args.rounds} rounds; {args.threads} threads")
    for option in skipped:
        print(f"  {option}: skipped, package not installed")

    tolerance = TRUNK_TOLERANCE if args.part == "trunk" else PROB_TOLERANCE
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp, torch.no_grad():
        for name, batch in [(n, b) for n in names for b in batches]:
            model = build(name)
            size = model.spec.input.size
            x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(1))
            fns, setup_s, diffs, failed = {}, {}, {}, {}
            for option in options:
                start = time.perf_counter()
                try:
                    fn = prepare(option, model, x, args.threads, Path(tmp), trunk=args.part == "trunk")
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
                if diff is not None and args.part == "trunk":  # activations: relative to their largest value
                    diff /= float(np.abs(reference).max())
                row[option] = {
                    "median_ms": 1000 * statistics.median(times[option]),
                    "speedup_over_eager": statistics.median(speedups) if speedups else None,
                    "median_cpu_ms": 1000 * statistics.median(cpu[option]),
                    "cpu_saving_over_eager": statistics.median(cpu_speedups) if cpu_speedups else None,
                    "setup_s": setup_s[option],
                    "max_prob_diff": diff,
                    "equal_within_tolerance": diff is not None and diff <= tolerance,
                }
            results[f"{name}@{batch}"] = {"model": name, "batch": batch, "options": row, "failed": failed}
            print(f"\n{name} ({args.part}, batch {batch}, input {size}x{size})")
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
        settings = {
            "threads": args.threads,
            "rounds": args.rounds,
            "part": args.part,
            "batches": batches,
            "torch": torch.__version__,
        }
        Path(args.json).write_text(json.dumps({"settings": settings, "models": results}, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
