"""How long ``python app.py`` takes to answer, and how much memory the server holds, on this machine.

Starts the studio in a subprocess on a free port with an empty checkpoint folder (untrained weights, as on a
fresh clone), times the wait until its page answers, reads the server's resident memory (RSS, from
``/proc``), then sends one analysis through the ``/predict`` endpoint (scikit-image's astronaut, the four
models with Grad-CAM, as a user's first click would) and reads the memory again: models load on first use.

    python bench/app_startup.py
    python bench/app_startup.py --rounds 3 --json /tmp/startup.json
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its children, in MB (Linux ``/proc``)."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def one_round(timeout_s: float) -> dict:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    with tempfile.TemporaryDirectory() as empty, tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "app.py", "--checkpoints", empty, "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while True:
                if proc.poll() is not None:
                    raise SystemExit("app.py exited before answering")
                if time.perf_counter() - start > timeout_s:
                    raise SystemExit(f"app.py did not answer within {timeout_s:.0f} s")
                try:
                    with urllib.request.urlopen(url, timeout=2):
                        break
                except OSError:
                    time.sleep(0.2)
            started_s = time.perf_counter() - start
            time.sleep(2)  # let start-up's background work (UMAP's compilation thread) settle
            rss_start = rss_mb(proc.pid)

            from gradio_client import Client, handle_file
            from PIL import Image
            from skimage import data

            photo = Path(tmp) / "astronaut.png"
            Image.fromarray(data.astronaut()).save(photo)
            client = Client(url, verbose=False)
            t0 = time.perf_counter()
            result = client.predict(handle_file(str(photo)), "", "gradcam", api_name="/predict")
            first_s = time.perf_counter() - t0
            faces = len(result.get("faces", [])) if isinstance(result, dict) else 0
            rss_after = rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return {
        "answer_s": started_s,
        "rss_after_start_mb": rss_start,
        "first_analysis_s": first_s,
        "rss_after_first_analysis_mb": rss_after,
        "faces": faces,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--timeout", type=float, default=180)
    p.add_argument("--json", metavar="PATH")
    args = p.parse_args()
    rounds = [one_round(args.timeout) for _ in range(args.rounds)]
    keys = rounds[0].keys()
    med = {k: statistics.median(r[k] for r in rounds) for k in keys}
    load = os.getloadavg()
    print(f"{args.rounds} round(s), load average {load[0]:.1f}")
    print(f"  app answers after          {med['answer_s']:.1f} s")
    print(f"  memory after start          {med['rss_after_start_mb']:.0f} MB")
    print(f"  first analysis (4 models)   {med['first_analysis_s']:.1f} s, {med['faces']:.0f} face(s)")
    print(f"  memory after it             {med['rss_after_first_analysis_mb']:.0f} MB")
    if args.json:
        Path(args.json).write_text(json.dumps({"median": med, "rounds": rounds, "load": load}, indent=2) + "\n")


if __name__ == "__main__":
    main()
