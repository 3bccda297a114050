"""Latency of one face's full analysis on this machine: ``Analyzer.analyze_faces`` vs the straightforward way.

For one face (scikit-image's ``astronaut``, detected once before any timing) and every registered model:

* A, the straightforward way: ``face_tensor`` (fp32, contiguous), a model in eval mode in the default
  memory format, one ``torch.no_grad()`` forward for the probabilities, then Grad-CAM exactly as
  pytorch-grad-cam's README shows it (``with GradCAM(...) as cam: cam(input_tensor=x, targets=[...])``);
* B, ours: ``Analyzer(ModelZoo(<empty dir>)).analyze_faces([face], cam="gradcam", regions=False)``, the
  fast CAM path doing A's work (probabilities and one Grad-CAM map per model), with each model's trunk in
  the runtime ``fer.runtime`` picks for it (``FER_TRUNK_RUNTIME``, default ``auto``), once built: the
  script waits for the builds (read from the disk cache after the first run) and reports their time;
* B0, the same all in torch (``ModelZoo(..., trunk_runtime="off")``), side by side with B;
* C, predictions only: ``analyze_faces([face], cam=None)``, what the webcam path runs;
* D, the app's default: ``analyze_faces([face], cam="gradcam")``, B plus region shares, the models'
  agreement and the occlusion test by region (more work than A, so not part of the ratio).

A, B, B0, C and D run interleaved round by round in one process after a warm-up, so a busy neighbour slows
all of them alike; we report medians and the median per-round ratio A/B. A's models are separate
instances (same seed, same weights) so that the zoo's channels_last conversion cannot touch them.
Untrained weights: latency does not depend on their values. Before timing, B's Grad-CAM maps are
checked against A's (max abs difference, goal <= 1e-4).

    python bench/analyze_latency.py                      # 7 rounds, 2 threads
    python bench/analyze_latency.py --rounds 3 --json /tmp/latency.json
    python bench/analyze_latency.py --busy               # B idle vs B beside a CPU-bound process
    python bench/analyze_latency.py --lanes              # A vs B on 2 threads vs B on 1 thread, in two lanes

``--busy`` times only B, round by round once alone and once while a helper process spins on one core
(started before and stopped after its timing), and reports the median per-round busy/idle ratio. The
OpenMP wait policy is the one ``fer`` sets (passive) unless the environment says otherwise, so
``OMP_WAIT_POLICY=ACTIVE python bench/analyze_latency.py --busy`` shows the spin-waiting default.

``--lanes`` asks whether splitting the cores between models would beat giving each model both: with
torch and the trunk runtimes on one thread, it times B one model after another and B in two lanes (two
Python threads, each running two of the models: PSA-ResNet50 then Conv-cut, U-Net then ResEmoteNet),
interleaved with A and B on two threads. torch's thread count is process-wide, so the library cannot
give one request one thread while another request has two: this is a measurement, not an option.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import fer  # noqa: E402  before torch: sets the CPU thread policy (fer/threads.py)

# isort: split
import numpy as np  # noqa: E402
import torch  # noqa: E402
from pytorch_grad_cam import GradCAM  # noqa: E402
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget  # noqa: E402
from skimage import data as skdata  # noqa: E402
from torch import nn  # noqa: E402

from fer.faces import Face, detect_faces, face_tensor  # noqa: E402
from fer.inference import Analyzer  # noqa: E402
from fer.zoo import ModelZoo  # noqa: E402

RATIO_GOAL = 8.0  # the four-model analysis with CAMs at least this many times faster than the baseline (issue 12)
BUSY_GOAL = 2.0  # with one CPU-bound process beside it, at most this many times its idle time
# The CPU-bound neighbour of --busy: one process spinning on one core, as another user's job would.
SPINNER = "while True:\n    pass"
CAM_TOLERANCE = 1e-4


def build_baseline(name: str) -> nn.Module:
    """The same untrained weights the zoo builds (seed 0), left in the default memory format."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = fer.build_model(name)
    return model.eval()


def baseline(model: nn.Module, face: Face, target: int | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """The straightforward way: probabilities from a no_grad forward, then Grad-CAM as the library's README shows."""
    x = face_tensor(face, model.spec.input)
    with torch.no_grad():
        probs = model(x).softmax(1)
    top = int(probs.argmax(1)) if target is None else target
    with GradCAM(model=model, target_layers=[fer.get_cam_target_layer(model)]) as cam:
        grayscale_cam = cam(input_tensor=x, targets=[ClassifierOutputTarget(top)])
    return probs.numpy(), grayscale_cam, top


def timed(fn, *args, **kwargs) -> float:  # noqa: ANN001
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def timed_cpu(fn, *args, **kwargs) -> tuple[float, float]:  # noqa: ANN001
    """Wall and process CPU seconds (all threads: torch's and the trunk runtime's), the steadier one under load."""
    start, start_cpu = time.perf_counter(), time.process_time()
    fn(*args, **kwargs)
    return time.perf_counter() - start, time.process_time() - start_cpu


def check_maps(names: list[str], models: dict[str, nn.Module], analyzer: Analyzer, face: Face) -> dict[str, dict]:
    """B's Grad-CAM map vs A's, per model, explaining the same class (A's top class)."""
    out = {}
    for name in names:
        classes = analyzer.zoo.get(name).class_names
        _, cam_a, top = baseline(models[name], face)
        # Untrained logits can nearly tie; explain A's class explicitly so both maps answer the same question.
        result = analyzer.analyze_faces([face], [name], cam="gradcam", target=classes[top])[0].models[name]
        b_top = analyzer.analyze_faces([face], [name], cam="gradcam")[0].models[name].cam_class
        diff = float(np.abs(result.cam - cam_a[0]).max())
        out[name] = {
            "max_abs_diff": diff,
            "ok": diff <= CAM_TOLERANCE,
            "class": classes[top],
            "same_top_class": b_top == classes[top],
            "map_range": [float(cam_a.min()), float(cam_a.max())],
        }
    return out


def median(values: list[float]) -> float:
    return statistics.median(values)


def busy_vs_idle(analyzer: Analyzer, face: Face, names: list[str], rounds: int, warmup: int) -> dict:
    """B alone and B beside a CPU-bound process, interleaved round by round; medians and per-round ratios."""
    idle, busy = [], []
    for r in range(warmup + rounds):
        t_idle = timed(analyzer.analyze_faces, [face], names, cam="gradcam", regions=False)
        spinner = subprocess.Popen([sys.executable, "-c", SPINNER])
        try:
            time.sleep(0.3)  # let it get going and take its core
            t_busy = timed(analyzer.analyze_faces, [face], names, cam="gradcam", regions=False)
        finally:
            spinner.kill()
            spinner.wait()
        if r >= warmup:
            idle.append(t_idle)
            busy.append(t_busy)
    ratios = [b / i for b, i in zip(busy, idle)]
    return {
        "wait_policy": os.environ.get("OMP_WAIT_POLICY", "(unset: OpenMP's default)"),
        "median_s": {"idle": median(idle), "busy": median(busy)},
        "ratio_busy_over_idle": median(ratios),
        "goal": BUSY_GOAL,
        "goal_met": median(ratios) <= BUSY_GOAL,
        "rounds_s": {"idle": idle, "busy": busy, "ratio": ratios},
    }


LANES = (("psa_resnet50", "convcut"), ("unet_eca_resnet34", "resemotenet"))  # about equal work on one thread


def lanes_vs_threads(
    face: Face, names: list[str], models_a: dict[str, nn.Module], rounds: int, warmup: int, threads: int
) -> dict:
    """A and B on ``threads`` threads vs B on one thread, sequential and in two lanes; medians and A/x."""
    with tempfile.TemporaryDirectory() as empty:
        torch.set_num_threads(1)
        single = Analyzer(ModelZoo(empty))  # its trunk runners take the thread count in force: one
        for name in names:
            runner = single.zoo.get(name).trunk
            if runner is not None:
                runner.wait()
        torch.set_num_threads(threads)
        both = Analyzer(ModelZoo(empty))
        for name in names:
            runner = both.zoo.get(name).trunk
            if runner is not None:
                runner.wait()
        lanes = [[n for n in lane if n in names] for lane in LANES]
        lanes = [lane for lane in lanes if lane] + [[n for n in names if not any(n in lane for lane in LANES)]]
        lanes = [lane for lane in lanes if lane]

        def run_lane(lane: list[str]) -> None:
            for name in lane:
                single.analyze_faces([face], [name], cam="gradcam", regions=False)

        times: dict[str, list[float]] = {"A": [], "B": [], "B1 sequential": [], "B1 two lanes": []}
        per_model: dict[str, list[float]] = {n: [] for n in names}
        with ThreadPoolExecutor(len(lanes)) as pool:
            for r in range(warmup + rounds):
                torch.set_num_threads(threads)
                a = sum(timed(baseline, models_a[n], face) for n in names)
                b = timed(both.analyze_faces, [face], names, cam="gradcam", regions=False)
                torch.set_num_threads(1)
                b1 = timed(single.analyze_faces, [face], names, cam="gradcam", regions=False)
                one = {n: timed(single.analyze_faces, [face], [n], cam="gradcam", regions=False) for n in names}
                b1_lanes = timed(lambda: [f.result() for f in [pool.submit(run_lane, lane) for lane in lanes]])
                if r < warmup:
                    continue
                for key, value in zip(times, (a, b, b1, b1_lanes)):
                    times[key].append(value)
                for n in names:
                    per_model[n].append(one[n])
        torch.set_num_threads(threads)
    med = {k: median(v) for k, v in times.items()}
    return {
        "lanes": lanes,
        "median_s": med,
        "ratio_a_over": {k: median([a / x for a, x in zip(times["A"], v)]) for k, v in times.items() if k != "A"},
        "one_thread_per_model_s": {n: median(v) for n, v in per_model.items()},
        "rounds_s": times,
    }


def write_json(path: str, result: dict) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default=",".join(fer.list_models()))
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--warmup", type=int, default=1, help="untimed rounds first")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", metavar="PATH", help="also write the results here")
    p.add_argument("--busy", action="store_true", help="time B alone vs beside a CPU-bound process instead")
    p.add_argument("--lanes", action="store_true", help="time A, B, and B on one thread sequential / in two lanes")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    names = args.models.split(",")

    rgb = skdata.astronaut()
    faces = detect_faces(rgb)
    if not faces:
        raise SystemExit("no face found in skimage.data.astronaut()")
    face = faces[0]
    print(
        f"1 face (astronaut, box {face.box}, crop {face.gray.shape[0]}px), models {', '.join(names)}, "
        f"{args.rounds} rounds + {args.warmup} warm-up, {args.threads} threads, torch {torch.__version__}, "
        f"{os.cpu_count()} CPUs"
    )

    with tempfile.TemporaryDirectory() as empty:
        analyzer = Analyzer(ModelZoo(empty))  # no checkpoints: untrained weights, seed 0
        torch_only = Analyzer(ModelZoo(empty, trunk_runtime="off"))
        builds = {}
        for name in names:
            runner = analyzer.zoo.get(name).trunk  # load outside the timing
            torch_only.zoo.get(name)
            if runner is not None:
                runner.wait()
                builds[name] = {
                    "runtime": runner.runtime,
                    "state": runner.state,
                    "error": runner.error,
                    "from_cache": runner.from_cache,
                    "build_s": runner.build_s,
                }
        built = ", ".join(
            f"{n} in {b['runtime']} ({b['state']}, {'read from the cache' if b['from_cache'] else 'exported'}"
            + (f", {b['build_s']:.1f} s)" if b["build_s"] is not None else ")")
            for n, b in builds.items()
        )
        print(f"trunks: {built or 'all in torch'}")
        if args.busy:
            busy = busy_vs_idle(analyzer, face, names, args.rounds, args.warmup)
            print(
                f"\nB (four models + Grad-CAM), OMP_WAIT_POLICY={busy['wait_policy']}: "
                f"idle {busy['median_s']['idle']:.3f} s, beside a CPU-bound process {busy['median_s']['busy']:.3f} s; "
                f"busy/idle median of per-round ratios {busy['ratio_busy_over_idle']:.2f}x "
                f"(rounds: {', '.join(f'{x:.2f}' for x in busy['rounds_s']['ratio'])}); "
                f"goal <= {BUSY_GOAL:g}x: {'MET' if busy['goal_met'] else 'NOT MET'}"
            )
            if args.json:
                write_json(args.json, {"settings": {"models": names, "threads": args.threads}, "busy": busy})
            return
        models_a = {name: build_baseline(name) for name in names}
        if args.lanes:
            lanes = lanes_vs_threads(face, names, models_a, args.rounds, args.warmup, args.threads)
            print(f"\nlanes: {' | '.join(' then '.join(lane) for lane in lanes['lanes'])}")
            for key, value in lanes["median_s"].items():
                ratio = "" if key == "A" else f"  A/{key}: {lanes['ratio_a_over'][key]:.2f}x"
                print(f"  {key:<15} {value:.3f} s{ratio}")
            work, k = sum(lanes["one_thread_per_model_s"].values()), len(lanes["lanes"])
            print(
                f"one thread, each model alone: {work:.3f} s in all; split perfectly over {k} lanes that would be "
                f"{work / k:.3f} s (A/x {lanes['median_s']['A'] * k / work:.2f}x)"
            )
            if args.json:
                write_json(args.json, {"settings": {"models": names, "threads": args.threads}, "lanes": lanes})
            return

        checks = check_maps(names, models_a, analyzer, face)
        print(f"\nGrad-CAM map check, B vs A (same class, tolerance {CAM_TOLERANCE:g}):")
        for name, c in checks.items():
            extra = "" if c["same_top_class"] else "  (B's own top class differs: near-tied untrained logits)"
            print(f"  {name:<20} max abs diff {c['max_abs_diff']:.2e}  {'ok' if c['ok'] else 'FAIL'}{extra}")

        a_model: dict[str, list[float]] = {n: [] for n in names}
        b_model: dict[str, list[float]] = {n: [] for n in names}
        b0_model: dict[str, list[float]] = {n: [] for n in names}
        b0_all: list[float] = []
        cpu = {k: {"B": [], "B0": []} for k in [*names, "all"]}  # process CPU seconds per call
        c_model: dict[str, list[float]] = {n: [] for n in names}
        a_all, b_all, c_all, d_all, ratios = [], [], [], [], []
        for r in range(args.warmup + args.rounds):
            # Interleaved: a busy neighbour slows A, B and C alike. The whole-analysis calls first,
            # then each model alone (A is a per-model loop anyway, so its total is the sum).
            a_times = {n: timed(baseline, models_a[n], face) for n in names}
            b, b_cpu = timed_cpu(analyzer.analyze_faces, [face], names, cam="gradcam", regions=False)
            b0, b0_cpu = timed_cpu(torch_only.analyze_faces, [face], names, cam="gradcam", regions=False)
            c = timed(analyzer.analyze_faces, [face], names, cam=None)
            d = timed(analyzer.analyze_faces, [face], names, cam="gradcam")
            b_both = {n: timed_cpu(analyzer.analyze_faces, [face], [n], cam="gradcam", regions=False) for n in names}
            b0_both = {n: timed_cpu(torch_only.analyze_faces, [face], [n], cam="gradcam", regions=False) for n in names}
            b_times, b0_times = {n: t[0] for n, t in b_both.items()}, {n: t[0] for n, t in b0_both.items()}
            c_times = {n: timed(analyzer.analyze_faces, [face], [n], cam=None) for n in names}
            if r < args.warmup:
                continue
            a = sum(a_times.values())
            a_all.append(a)
            b_all.append(b)
            b0_all.append(b0)
            cpu["all"]["B"].append(b_cpu)
            cpu["all"]["B0"].append(b0_cpu)
            c_all.append(c)
            d_all.append(d)
            ratios.append(a / b)
            for n in names:
                a_model[n].append(a_times[n])
                b_model[n].append(b_times[n])
                b0_model[n].append(b0_times[n])
                cpu[n]["B"].append(b_both[n][1])
                cpu[n]["B0"].append(b0_both[n][1])
                c_model[n].append(c_times[n])

    ratio = median(ratios)
    met = ratio >= RATIO_GOAL
    b0_ratios = [b0 / b for b0, b in zip(b0_all, b_all)]
    print(
        f"\n{'model':<20} {'A baseline s':>13} {'B ours s':>9} {'A/B':>6} {'B0 torch s':>11} {'B0/B':>6} "
        f"{'C no CAM s':>11}"
    )
    for n in names:
        per_round = [a / b for a, b in zip(a_model[n], b_model[n])]
        per_round0 = [b0 / b for b0, b in zip(b0_model[n], b_model[n])]
        print(
            f"{n:<20} {median(a_model[n]):>13.3f} {median(b_model[n]):>9.3f} {median(per_round):>5.2f}x "
            f"{median(b0_model[n]):>11.3f} {median(per_round0):>5.2f}x {median(c_model[n]):>11.3f}"
        )
    print(
        f"{'all four (one call)':<20} {median(a_all):>13.3f} {median(b_all):>9.3f} {ratio:>5.2f}x "
        f"{median(b0_all):>11.3f} {median(b0_ratios):>5.2f}x {median(c_all):>11.3f}"
    )
    print(
        f"\nA/B median of per-round ratios: {ratio:.2f}x (rounds: {', '.join(f'{x:.2f}' for x in ratios)}); "
        f"goal >= {RATIO_GOAL:g}x: {'MET' if met else 'NOT MET'}"
    )
    print(
        f"A/B0 (all in torch): {median([a / b0 for a, b0 in zip(a_all, b0_all)]):.2f}x; "
        f"the trunk runtimes make B {median(b0_ratios):.2f}x faster than B0"
    )
    cpu_ratio = {k: median([o / b for o, b in zip(v["B0"], v["B"])]) for k, v in cpu.items()}
    print("process CPU time per call, B vs B0 (median of per-round ratios; steadier than wall time under load):")
    for k, v in cpu.items():
        print(f"  {k:<20} B {median(v['B']):.3f} s, B0 {median(v['B0']):.3f} s, B0/B {cpu_ratio[k]:.2f}x")
    print(f"C (no CAM) vs B: CAMs add {median(b_all) - median(c_all):.3f} s to the four-model analysis")
    print(
        f"D, the app's default (B + regions, agreement, occlusion): {median(d_all):.3f} s "
        f"({median(d_all) / median(b_all):.2f}x B)"
    )

    if args.json:
        result = {
            "settings": {
                "models": names,
                "rounds": args.rounds,
                "warmup": args.warmup,
                "threads": args.threads,
                "cpus": os.cpu_count(),
                "torch": torch.__version__,
                "python": platform.python_version(),
                "face_box": list(face.box),
            },
            "median_s": {
                "A": median(a_all),
                "B": median(b_all),
                "B0": median(b0_all),
                "C": median(c_all),
                "D": median(d_all),
            },
            "trunks": builds,
            "cpu_s": {
                k: {"B": median(v["B"]), "B0": median(v["B0"]), "ratio_b0_over_b": cpu_ratio[k]} for k, v in cpu.items()
            },
            "ratio_b0_over_b": median(b0_ratios),
            "ratio_a_over_b": ratio,
            "ratio_goal": RATIO_GOAL,
            "goal_met": met,
            "per_model_median_s": {
                n: {
                    "A": median(a_model[n]),
                    "B": median(b_model[n]),
                    "B0": median(b0_model[n]),
                    "C": median(c_model[n]),
                }
                for n in names
            },
            "rounds_s": {"A": a_all, "B": b_all, "B0": b0_all, "C": c_all, "D": d_all, "ratio": ratios},
            "per_model_rounds_s": {n: {"A": a_model[n], "B": b_model[n], "C": c_model[n]} for n in names},
            "cam_check": checks,
        }
        write_json(args.json, result)


if __name__ == "__main__":
    main()
