"""A model's trunk (the layers up to its CAM layer) run by another runtime, exported once and cached on disk.

The fast CAM path back-propagates only through the tail (``fer.runtime.split``), so the trunk needs no
autograd and may run in OpenVINO or ONNX Runtime where those beat torch on this model
(bench/trunk_options.py; README, "Forward-pass options"). A :class:`TrunkRunner` is built in a background
thread so the app starts at once: until it is ready, or if anything in the export, compile or check fails
(a warning is logged), it answers ``None`` and the caller runs the model in torch as before.

The export is cached under ``FER_CACHE_DIR`` (default ``$XDG_CACHE_HOME/fer`` or ``~/.cache/fer``), in a
folder named by the model, the runtime and versions, and a hash of the trunk's weights: a new checkpoint
gives a new folder, an unchanged one is read back without exporting. Before it is used, the compiled
trunk's output is checked against torch's on a probe input (relative difference at most ``TOLERANCE``).

``FER_TRUNK_RUNTIME`` picks the runtime: ``auto`` (default: each model's measured choice in ``AUTO``),
``off`` (torch everywhere), ``openvino`` or ``onnxruntime`` (that runtime for every model).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from fer.atomic import atomic_write_dir
from fer.runtime.split import SPLITS, split_model

log = logging.getLogger(__name__)

RUNTIME_ENV = "FER_TRUNK_RUNTIME"
CACHE_ENV = "FER_CACHE_DIR"
RUNTIMES = ("openvino", "onnxruntime")
# Each model's trunk runtime under "auto", chosen by bench/trunk_options.py on this 2-core CPU (README,
# "Forward-pass options"); a model missing here stays in torch.
AUTO: dict[str, str] = {"psa_resnet50": "openvino", "unet_eca_resnet34": "openvino"}
# The runtime's trunk output may differ from torch's by float rounding only: at most this, relative to the
# largest activation (measured: about 1e-6; 3e-5 on U-Net, whose channel softmax amplifies rounding).
TOLERANCE = 1e-4
_ALIASES = {"0": "off", "none": "off", "torch": "off", "eager": "off", "false": "off", "no": "off"}
FORMAT_VERSION = 1  # bump when the export changes, so old cache folders are not read


def runtime_setting() -> str:
    """``FER_TRUNK_RUNTIME``, lower-cased: ``auto`` (default), ``off``, or a runtime's name."""
    value = os.environ.get(RUNTIME_ENV, "auto").strip().lower() or "auto"
    return _ALIASES.get(value, value)


def runtime_for(model_name: str, setting: str | None = None) -> str | None:
    """The runtime that should run ``model_name``'s trunk, or None for torch (also when it is not installed)."""
    setting = runtime_setting() if setting is None else setting.strip().lower()
    setting = _ALIASES.get(setting, setting)
    if setting == "off":
        return None
    runtime = AUTO.get(model_name) if setting == "auto" else setting
    if runtime is None:
        return None
    if runtime not in RUNTIMES:
        log.warning(
            "%s=%r: unknown runtime (known: off, auto, %s); torch runs the trunk",
            RUNTIME_ENV,
            setting,
            ", ".join(RUNTIMES),
        )
        return None
    if importlib.util.find_spec(runtime) is None:
        if setting != "auto":
            log.warning("%s=%s but %s is not installed; torch runs the trunk", RUNTIME_ENV, runtime, runtime)
        return None
    return runtime


def cache_dir() -> Path:
    """Where exported trunks are kept: ``FER_CACHE_DIR``, else ``$XDG_CACHE_HOME/fer``, else ``~/.cache/fer``."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "fer"


def weights_hash(module: nn.Module) -> str:
    """A hash of ``module``'s parameters and buffers (names, dtypes, shapes and bytes)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        t = tensor.detach().cpu()
        digest.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode())
        # In logical order whatever the memory format (channels_last weights, size-1 dims' odd strides).
        digest.update(t.reshape(-1).clone().view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


class TrunkRunner:
    """One model's trunk in OpenVINO or ONNX Runtime; ``run(x)`` is None until it is built and checked.

    ``state`` is ``"building"``, ``"ready"`` or ``"failed"`` (``error`` says why; torch is used then).
    ``from_cache`` tells whether the export was read back from disk. Thread-safe once ready.
    """

    def __init__(self, model: nn.Module, runtime: str, cache: Path | None = None, threads: int | None = None) -> None:
        split = split_model(model)
        if split is None:
            raise ValueError(f"no trunk/tail cut for {type(model).__name__}")
        if runtime not in RUNTIMES:
            raise ValueError(f"unknown runtime {runtime!r}; known: {', '.join(RUNTIMES)}")
        self.model_name = model.spec.name
        self.split = split
        self.runtime = runtime
        self.cache = cache_dir() if cache is None else Path(cache)
        self.threads = threads or torch.get_num_threads()
        size, channels = model.spec.input.size, model.spec.input.channels
        self.input_shape = (channels, size, size)
        self.device = next(model.parameters()).device
        self.state = "building"
        self.error: str | None = None
        self.from_cache = False
        self.folder: Path | None = None
        self.build_s: float | None = None
        self._infer: Callable[[np.ndarray], np.ndarray] | None = None
        self._done = threading.Event()

    # --- building -------------------------------------------------------------------------------------

    def start(self) -> TrunkRunner:
        """Build in a daemon thread; returns at once."""
        threading.Thread(target=self.build, name=f"trunk-{self.model_name}", daemon=True).start()
        return self

    def build(self) -> None:
        """Export (or read back from the cache), compile and check; any failure leaves torch in charge."""
        start = time.perf_counter()
        try:
            if self.device.type != "cpu":
                raise RuntimeError(f"the {self.runtime} trunk runs on the CPU; the model is on {self.device}")
            try:
                infer = self._compile(self._exported())
                self._check(infer)
            except Exception:
                if not self.from_cache:
                    raise
                # A damaged or stale cached export: drop it and export again, once.
                log.warning("%s: cached %s trunk unusable, exporting it again", self.model_name, self.runtime)
                shutil.rmtree(self.folder, ignore_errors=True)
                self.from_cache = False
                infer = self._compile(self._exported())
                self._check(infer)
            self._infer = infer  # only now may run() use it: never an unchecked runtime
            self.state = "ready"
            self.build_s = time.perf_counter() - start
            log.info(
                "%s: trunk runs in %s (%s, %.1f s)",
                self.model_name,
                self.runtime,
                "read from the cache" if self.from_cache else "exported",
                self.build_s,
            )
        except Exception as exc:  # an export/compile problem must never take the analysis down
            self._infer = None
            self.state = "failed"
            self.error = f"{type(exc).__name__}: {exc}"
            log.warning("%s: %s trunk unavailable, torch runs it (%s)", self.model_name, self.runtime, self.error)
        finally:
            self._done.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the build ended (or ``timeout``); True when the runner is ready."""
        self._done.wait(timeout)
        return self.state == "ready"

    def _key(self) -> str:
        package = _version(self.runtime)
        parts = f"v{FORMAT_VERSION}|{self.runtime}{package}|torch{torch.__version__}|{self.input_shape}|"
        digest = hashlib.sha256((parts + weights_hash(self.split.trunk)).encode()).hexdigest()[:20]
        return f"{self.model_name}-{self.runtime}{package}-{digest}"

    def _file(self, folder: Path) -> Path:
        return folder / ("trunk.xml" if self.runtime == "openvino" else "trunk.onnx")

    def _exported(self) -> Path:
        """The cached export's model file, exporting it first when the cache has none."""
        if self.folder is None:  # hashed once: a retry after a damaged cache reuses it
            self.folder = self.cache / "trunks" / self._key()
        folder = self.folder
        if self._file(folder).is_file():
            self.from_cache = True
            return self._file(folder)
        # Whole folder at once: a reader never sees half an export (a process may exit mid-export: daemon thread).
        atomic_write_dir(folder, lambda tmp: self._export(self._file(tmp)))
        return self._file(folder)

    def _example(self, batch: int = 1) -> torch.Tensor:
        return torch.randn(batch, *self.input_shape, generator=torch.Generator().manual_seed(0))

    def _export(self, path: Path) -> None:
        trunk, x = self.split.trunk, self._example()
        with torch.no_grad():
            if self.runtime == "onnxruntime":
                torch.onnx.export(
                    trunk,
                    (x,),
                    str(path),
                    dynamo=False,
                    input_names=["x"],
                    output_names=["y"],
                    dynamic_axes={"x": {0: "n"}, "y": {0: "n"}},
                )
            else:
                import openvino as ov

                converted = ov.convert_model(trunk, example_input=x, input=[(-1, *self.input_shape)])
                ov.save_model(converted, str(path), compress_to_fp16=False)

    def _compile(self, path: Path) -> Callable[[np.ndarray], np.ndarray]:
        if self.runtime == "onnxruntime":
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = self.threads
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # as OMP_WAIT_POLICY=PASSIVE
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            return lambda x: session.run(None, {"x": x})[0]
        import openvino as ov

        core = ov.Core()
        compiled = core.compile_model(
            core.read_model(str(path)),
            "CPU",
            {
                "INFERENCE_NUM_THREADS": self.threads,
                "PERFORMANCE_HINT": "LATENCY",
                "INFERENCE_PRECISION_HINT": "f32",  # not bf16: the maps must equal torch's
                "ENABLE_CPU_PINNING": False,  # pinned threads suffer most on a shared machine
            },
        )
        # One infer request per call: a compiled model's own request is not safe to share between threads.
        return lambda x: np.asarray(compiled.create_infer_request().infer({0: x})[0])

    def _check(self, infer: Callable[[np.ndarray], np.ndarray]) -> None:
        x = self._example(2)
        with torch.no_grad():
            expected = self.split.trunk(x.contiguous(memory_format=torch.channels_last)).numpy()
        got = infer(x.numpy())
        if got.shape != expected.shape:
            raise RuntimeError(f"trunk output shape {got.shape}, torch gives {expected.shape}")
        diff = float(np.abs(got - expected).max() / max(float(np.abs(expected).max()), 1e-12))
        if not diff <= TOLERANCE:
            raise RuntimeError(f"trunk output differs from torch's by {diff:.2e} (relative; tolerance {TOLERANCE:g})")

    # --- running --------------------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    def run(self, x: torch.Tensor) -> torch.Tensor | None:
        """The CAM layer's activation for the batch ``x`` (channels_last), or None while torch must run it."""
        infer = self._infer
        if infer is None or tuple(x.shape[1:]) != self.input_shape:
            return None
        try:
            out = infer(np.ascontiguousarray(x.detach().cpu().numpy()))
        except Exception as exc:  # the runtime failing on some input: torch from now on, never a failed request
            self._infer, self.state, self.error = None, "failed", f"{type(exc).__name__}: {exc}"
            log.warning(
                "%s: %s trunk failed, torch runs it from now on (%s)", self.model_name, self.runtime, self.error
            )
            return None
        return torch.from_numpy(out).contiguous(memory_format=torch.channels_last)

    def logits(self, x: torch.Tensor) -> torch.Tensor | None:
        """The model's logits with the trunk run here and the tail in torch (no autograd), or None."""
        activation = self.run(x)
        if activation is None:
            return None
        with torch.inference_mode():
            return self.split.tail(activation)


def trunk_runner(model: nn.Module, start: bool = True, setting: str | None = None) -> TrunkRunner | None:
    """A runner for ``model``'s trunk when a runtime is chosen for it, else None.

    ``setting`` is as ``FER_TRUNK_RUNTIME`` (None: that variable; ``auto``: ``AUTO``'s choice per model).
    With ``start`` it builds in the background; use it once ``runner.ready``.
    """
    spec = getattr(model, "spec", None)
    runtime = runtime_for(spec.name, setting) if spec is not None else None
    if runtime is None or spec.name not in SPLITS:
        return None
    runner = TrunkRunner(model, runtime)
    return runner.start() if start else runner
