"""Shared test setup: small, deterministic, no network."""

from __future__ import annotations

import os

os.environ.setdefault("FER_OFFLINE", "1")  # never wait on a download in tests
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# Models run in torch unless a test picks a trunk runtime (tests/test_trunk_runtime.py): no background
# exports in every test that loads a model, nothing written to the user's cache.
os.environ.setdefault("FER_TRUNK_RUNTIME", "off")

import fer  # noqa: E402, F401  before torch: passive OpenMP waits, so this process and the app/train subprocesses share 2 cores well

# isort: split
import copy  # noqa: E402
from collections.abc import Callable  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from fer.threads import available_cpus  # noqa: E402

# Under pytest-xdist (`make test` runs one worker per core, at most 4) the workers share the cores: one
# torch thread each, so they do not queue behind each other's OpenMP teams; a plain `pytest` keeps two.
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
torch.set_num_threads(max(1, min(2, available_cpus() // _WORKERS)))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: a heavy case (training runs, subprocesses, big models); CI runs it, `-m 'not slow'` skips it"
    )


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def built_model() -> Callable[..., nn.Module]:
    """``fer.build_model`` with a session cache: each (name, options) is built once, under seed 0, then deep-copied.

    Building is the slow part (ConvNeXt-Base and ResEmoteNet's 80 M parameters take seconds to
    initialise); a copy is cheap, and each test gets its own instance to change at will. The weights
    are those ``torch.manual_seed(0); fer.build_model(...)`` gives.
    """
    cache: dict[tuple, nn.Module] = {}

    def build(name: str, **options: object) -> nn.Module:
        key = (name, tuple(sorted(options.items())))
        if key not in cache:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                cache[key] = fer.build_model(name, **options)
        return copy.deepcopy(cache[key])

    return build


@pytest.fixture(scope="session", autouse=True)
def _library_builds_from_the_cache(built_model: Callable[..., nn.Module]):  # noqa: ANN202
    """The zoo's untrained models and the skeletons ``load_checkpoint`` fills come from the same cache.

    Same results, built once per session: the zoo's untrained weights are seed 0's, as the cache's;
    ``load_checkpoint`` overwrites every weight and buffer of its skeleton with the checkpoint's.
    Training (fer.training) still builds its own models from its own seed.
    """
    import fer.checkpoints
    import fer.zoo

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fer.zoo, "build_model", built_model)
        patch.setattr(fer.checkpoints, "build_model", built_model)
        yield


@pytest.fixture(scope="session")
def studio_server(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """One running app (python app.py) shared by the API and browser tests."""
    from appserver import Server, prepare_checkpoints

    root = prepare_checkpoints(tmp_path_factory.mktemp("checkpoints"))
    server = Server(root, tmp_path_factory.mktemp("server") / "app.log")
    yield server
    server.stop()
