"""CUDA smoke test: every model trains N steps with AMP (bf16 where supported), channels_last and torch.compile.

Reports per model the first step (compilation included), the median step afterwards, images/s, peak GPU
memory, and whether the loss stayed finite. Writes JSON with ``--json``. On CPU (``--device cpu``) it
checks the same code path at tiny sizes, which is what ``tools/gpu_run.sh --dry-run`` does.

    python bench/cuda_smoke.py --json smoke.json
    python bench/cuda_smoke.py --device cpu --steps 2 --batch-size 4 --img-size 32 --compile-backend eager
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import fer  # noqa: E402
from fer.data import make_synthetic_faces  # noqa: E402
from fer.preprocess import random_hflip, to_model_input  # noqa: E402


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def smoke(name: str, args: argparse.Namespace, device: torch.device, faces: torch.Tensor, labels: torch.Tensor) -> dict:
    torch.manual_seed(0)
    model = fer.build_model(name).to(device).train()
    size = args.img_size or model.spec.input.size
    cuda = device.type == "cuda"
    if cuda:
        model.to(memory_format=torch.channels_last)
        torch.cuda.reset_peak_memory_stats(device)
    amp = torch.bfloat16 if cuda and torch.cuda.is_bf16_supported() else (torch.float16 if cuda else None)
    step_fn = model
    if not args.no_compile:
        step_fn = torch.compile(model, backend=args.compile_backend)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    scaler = torch.amp.GradScaler(device.type, enabled=amp == torch.float16)
    gen = torch.Generator().manual_seed(0)
    times, losses = [], []
    for _ in range(args.steps):
        start = time.perf_counter()
        idx = torch.randint(len(faces), (args.batch_size,), generator=gen).to(device)
        x = to_model_input(random_hflip(faces[idx], gen), model.spec.input, size)
        if cuda:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=amp) if amp else nullcontext():
            logits = step_fn(x)
        loss = F.cross_entropy(logits.float(), labels[idx])
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        losses.append(loss.detach())
        sync(device)  # a smoke test times each step; training itself never synchronises per step
        times.append(time.perf_counter() - start)
    steady = times[1:] or times
    loss_values = [float(v) for v in torch.stack(losses).cpu()]
    return {
        "model": name,
        "img_size": size,
        "batch_size": args.batch_size,
        "steps": args.steps,
        "amp": str(amp).replace("torch.", "") if amp else None,
        "channels_last": cuda,
        "compile": None if args.no_compile else args.compile_backend,
        "first_step_s": round(times[0], 3),
        "median_step_s": round(statistics.median(steady), 4),
        "images_per_s": round(args.batch_size / statistics.median(steady), 1),
        "peak_memory_gib": round(torch.cuda.max_memory_allocated(device) / 2**30, 2) if cuda else None,
        "loss_first": round(loss_values[0], 4),
        "loss_last": round(loss_values[-1], 4),
        "finite": all(v == v and abs(v) != float("inf") for v in loss_values),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default=",".join(fer.list_models()))
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--img-size", type=int, help="input size for every model (default: each model's own)")
    p.add_argument("--no-compile", action="store_true")
    p.add_argument("--compile-backend", default="inductor", help="torch.compile backend (eager: trace only)")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args()
    device = torch.device(args.device)
    data = make_synthetic_faces(512, size=48, seed=0)
    faces, labels = torch.from_numpy(data.images).to(device), torch.from_numpy(data.labels).to(device)
    env = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
    }
    print(json.dumps(env))
    results = []
    for name in args.models.split(","):
        try:
            r = smoke(name, args, device, faces, labels)
        except Exception as exc:  # one model's failure must not hide the others' results
            r = {"model": name, "error": f"{type(exc).__name__}: {exc}"[:2000]}
        results.append(r)
        print(json.dumps(r), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({**env, "results": results}, indent=2) + "\n")
    if any("error" in r or not r["finite"] for r in results):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
