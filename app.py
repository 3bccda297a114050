"""Start the studio: ``python app.py [--checkpoints DIR_OR_HUB_ID]``. Also the Hugging Face Spaces entry point."""

from __future__ import annotations

import argparse
import os

import fer  # noqa: F401  first: the CPU thread policy must be set before torch loads (fer/threads.py)

# isort: split
from demo import CSS, THEME, build_demo
from demo.limits import MAX_UPLOAD
from demo.runtime import limit_malloc_arenas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--checkpoints", default=None, help="checkpoint directory or Hub id (default: FER_CHECKPOINTS or ./checkpoints)"
    )
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    args = parser.parse_args()
    limit_malloc_arenas()  # before the server starts its threads
    demo = build_demo(args.checkpoints)
    demo.studio.start_background_work()
    # At most two requests run at once: more would only split two CPU cores further.
    demo.queue(default_concurrency_limit=2, max_size=64).launch(
        server_name=args.host,
        server_port=args.port,
        css=CSS,
        theme=THEME,
        show_error=True,
        max_file_size=MAX_UPLOAD,
    )


if __name__ == "__main__":
    main()
