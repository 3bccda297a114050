"""Training throughput on this machine: our batched tensor pipeline vs a per-sample PIL DataLoader.

The PIL pipeline is how the papers' public code feeds its models (a torchvision ``Dataset`` of PIL
images, ``transforms.Compose`` per sample, a ``DataLoader``). Both run the same model, optimiser
and batch size, interleaved round by round in one process; we report median images/s and the ratio.

    python bench/train_throughput.py                      # all four models, synthetic faces
    python bench/train_throughput.py --models resemotenet --data ../shared/data/fer2013 --rounds 5
    python bench/train_throughput.py --device cuda --amp --workers 8 --batch-size 64 --json throughput.json

On CUDA the tensor pipeline keeps the uint8 faces on the GPU; the PIL pipeline uses DataLoader workers
with pinned memory and non-blocking copies, as a tuned per-sample pipeline would.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import fer  # noqa: E402  before torch: sets the CPU thread policy (fer/threads.py)

# isort: split
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image  # noqa: E402
from torch.utils.data import DataLoader, Dataset  # noqa: E402
from torchvision import transforms  # noqa: E402

from fer.data import load_dataset, make_synthetic_faces  # noqa: E402
from fer.preprocess import random_hflip, to_model_input  # noqa: E402


class PILFaces(Dataset):
    """Per-sample pipeline: uint8 array -> PIL -> resize, 3 channels, flip, tensor, normalise."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, spec: fer.ModelSpec) -> None:
        self.images, self.labels = images, labels
        self.transform = transforms.Compose(
            [
                transforms.Resize((spec.input.size, spec.input.size)),
                transforms.Grayscale(num_output_channels=3),
                transforms.RandomHorizontalFlip(),
                transforms.ToTensor(),
                transforms.Normalize(spec.input.mean, spec.input.std),
            ]
        )

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.transform(Image.fromarray(self.images[i])), int(self.labels[i])


AMP: torch.dtype | None = None


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def step(model: torch.nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor) -> None:
    if x.is_cuda:
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.autocast(x.device.type, dtype=AMP, enabled=AMP is not None):
        logits = model(x)
    loss = F.cross_entropy(logits.float(), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def tensor_round(model, opt, images, labels, batch, steps, gen) -> float:  # noqa: ANN001
    sync(images.device)
    start = time.perf_counter()
    for _ in range(steps):
        idx = torch.randint(len(images), (batch,), generator=gen).to(images.device)
        faces = random_hflip(images[idx], gen)
        step(model, opt, to_model_input(faces, model.spec.input), labels[idx])
    sync(images.device)
    return batch * steps / (time.perf_counter() - start)


def pil_round(model, opt, loader, steps, device) -> float:  # noqa: ANN001
    sync(device)
    start = time.perf_counter()
    seen = 0
    for i, (x, y) in enumerate(loader):
        if i == steps:
            break
        step(model, opt, x.to(device, non_blocking=True), y.to(device, non_blocking=True))
        seen += len(y)
    sync(device)
    return seen / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default=",".join(fer.list_models()))
    p.add_argument("--data", help="a dataset path (default: 512 synthetic 48x48 faces)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--steps", type=int, default=3, help="training steps per round and pipeline")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--workers", type=int, default=0, help="DataLoader workers for the PIL pipeline")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--amp", action="store_true", help="bf16 autocast (CUDA)")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    global AMP
    AMP = torch.bfloat16 if args.amp and device.type == "cuda" else None
    if args.data:
        faces = load_dataset(args.data)["train"]
    else:
        faces = make_synthetic_faces(512, size=48, seed=0)
    images, labels = torch.from_numpy(faces.images).to(device), torch.from_numpy(faces.labels).to(device)
    print(
        f"{len(faces)} faces {faces.images.shape[1]}x{faces.images.shape[2]}, batch {args.batch_size}, "
        f"{args.steps} steps x {args.rounds} rounds, {args.threads} threads, PIL workers {args.workers}"
    )
    print(f"{'model':<20} {'tensor img/s':>13} {'PIL img/s':>10} {'ratio':>6}")
    rows = []
    for name in args.models.split(","):
        torch.manual_seed(0)
        model = fer.build_model(name).to(device).train()
        if device.type == "cuda":
            model.to(memory_format=torch.channels_last)
        opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
        loader = DataLoader(
            PILFaces(faces.images, faces.labels, model.spec),
            batch_size=args.batch_size,
            shuffle=True,
            num_workers=args.workers,
            drop_last=True,
            pin_memory=device.type == "cuda",
            persistent_workers=args.workers > 0,
        )
        gen = torch.Generator().manual_seed(0)
        tensor_round(model, opt, images, labels, args.batch_size, 1, gen)  # warm-up, both paths
        pil_round(model, opt, loader, 1, device)
        ours, theirs, ratios = [], [], []
        for _ in range(args.rounds):  # interleaved: a busy neighbour slows both alike
            a = tensor_round(model, opt, images, labels, args.batch_size, args.steps, gen)
            b = pil_round(model, opt, loader, args.steps, device)
            ours.append(a)
            theirs.append(b)
            ratios.append(a / b)
        print(
            f"{name:<20} {statistics.median(ours):>13.1f} {statistics.median(theirs):>10.1f} "
            f"{statistics.median(ratios):>5.2f}x"
        )
        rows.append(
            {
                "model": name,
                "tensor_img_per_s": round(statistics.median(ours), 1),
                "pil_img_per_s": round(statistics.median(theirs), 1),
                "ratio": round(statistics.median(ratios), 3),
            }
        )
    if args.json:
        setup = {k: getattr(args, k) for k in ("batch_size", "steps", "rounds", "workers", "threads", "device", "amp")}
        gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
        Path(args.json).write_text(json.dumps({**setup, "gpu": gpu, "results": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
