"""How long ``python app.py`` takes to answer, and how much memory the server holds, on this machine.

Starts the studio in a subprocess on a free port (``tests/appserver.py``'s ``Server``) with an empty
checkpoint folder (untrained weights, as on a fresh clone), times the wait until its page answers, reads
the server's resident memory (RSS, from ``/proc``), then sends one analysis through the ``/predict``
endpoint (scikit-image's astronaut, the four models with Grad-CAM, as a user's first click would) and
reads the memory again: models load on first use.

    python bench/app_startup.py
    python bench/app_startup.py --rounds 3 --json /tmp/startup.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from appserver import Server  # noqa: E402  the test suite's app server: python app.py until its page answers


def one_round(timeout_s: float) -> dict:
    with tempfile.TemporaryDirectory() as empty, tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        server = Server(Path(empty), Path(tmp) / "app.log", timeout_s=timeout_s, poll_s=0.2)
        try:
            started_s = time.perf_counter() - start
            time.sleep(2)  # let start-up's background work (UMAP's compilation thread) settle
            rss_start = server.rss_mb()

            from gradio_client import Client, handle_file
            from PIL import Image
            from skimage import data

            photo = Path(tmp) / "astronaut.png"
            Image.fromarray(data.astronaut()).save(photo)
            client = Client(server.url, verbose=False)
            t0 = time.perf_counter()
            result = client.predict(handle_file(str(photo)), "", "gradcam", api_name="/predict")
            first_s = time.perf_counter() - t0
            faces = len(result.get("faces", [])) if isinstance(result, dict) else 0
            rss_after = server.rss_mb()
        finally:
            server.stop()
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
