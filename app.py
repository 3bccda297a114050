"""Start the studio: ``python app.py [--checkpoints DIR_OR_HUB_ID]``. Also the Hugging Face Spaces entry point."""

from __future__ import annotations

import argparse
import os

from demo import build_demo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--checkpoints", default=None, help="checkpoint directory or Hub id (default: FER_CHECKPOINTS or ./checkpoints)"
    )
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    args = parser.parse_args()
    build_demo(args.checkpoints).queue(default_concurrency_limit=2).launch(server_name=args.host, server_port=args.port)


if __name__ == "__main__":
    main()
