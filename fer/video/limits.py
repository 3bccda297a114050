"""The video caps, in a module of their own so ``python -m fer``'s argument parser can show them without
importing OpenCV (training commands share that parser and must not load it)."""

MAX_DURATION_S = 600.0  # ten minutes: analysis runs about 1 s per 3 s of clip with one model on 2 cores
MAX_SIDE = 1920  # 1080p; larger frames cost decode time and the detector shrinks them anyway
