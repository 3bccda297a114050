"""The /predict endpoint under load: 8 concurrent gradio_client clients x 25 requests, answers never mixed up."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image
from skimage import data as skdata

CLIENTS, REQUESTS = 8, 25


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Eight photos of one face, each cropped differently: each answer has its own face box."""
    folder = tmp_path_factory.mktemp("photos")
    base = skdata.astronaut()
    variants = [base[8 * k :, 5 * k :] for k in range(CLIENTS)]
    paths = []
    for i, img in enumerate(variants):
        path = folder / f"photo{i}.png"
        Image.fromarray(np.ascontiguousarray(img)).save(path)
        paths.append(path)
    return paths


@pytest.mark.slow  # 400 requests through gradio_client: about 100 s here
def test_concurrent_clients_get_their_own_answers(studio_server, photos: list[Path]) -> None:  # noqa: ANN001
    client = Client(studio_server.url, verbose=False)
    expected = [client.predict(handle_file(str(p)), "resemotenet", "", api_name="/predict") for p in photos]
    assert all(e["error"] is None and e["faces"] for e in expected)
    boxes = [tuple(tuple(f["box"]) for f in e["faces"]) for e in expected]
    assert len(set(boxes)) == len(photos)  # every photo has its own answer, so a mix-up would show

    def worker(k: int, requests: int = REQUESTS) -> list[tuple[int, dict]]:
        own = Client(studio_server.url, verbose=False)
        out = []
        for r in range(requests):
            i = (k + r) % len(photos)
            out.append((i, own.predict(handle_file(str(photos[i])), "resemotenet", "", api_name="/predict")))
        return out

    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = [a for batch in pool.map(worker, range(CLIENTS)) for a in batch]
    rss_warm = studio_server.rss_mb()  # after 200 requests: allocator arenas and thread pools are grown
    assert len(answers) == CLIENTS * REQUESTS
    for i, answer in answers:
        assert tuple(tuple(f["box"]) for f in answer["faces"]) == boxes[i], f"photo {i} got another photo's answer"
        for got, want in zip(answer["faces"], expected[i]["faces"]):
            assert got["models"]["resemotenet"]["probs"] == pytest.approx(
                want["models"]["resemotenet"]["probs"], abs=1e-6
            )
    # Memory stays flat once warm: 200 more requests add no leak's worth (a leaked photo would be 0.75 MB each).
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(worker, range(CLIENTS)))
    assert studio_server.rss_mb() - rss_warm < 50


def test_bad_upload_through_the_api_is_an_answer_not_a_crash(studio_server, tmp_path: Path) -> None:  # noqa: ANN001
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image at all")
    client = Client(studio_server.url, verbose=False)
    answer = client.predict(handle_file(str(junk)), "", "", api_name="/predict")
    assert answer["faces"] == [] and "not an image" in answer["error"]
    ok = client.predict(
        handle_file(str(Path(skdata.__file__).parent / "astronaut.png")), "convcut", "", api_name="/predict"
    )
    assert ok["error"] is None  # the server keeps serving


def test_uploads_over_the_size_limit_are_refused_by_the_server(studio_server) -> None:  # noqa: ANN001
    import urllib.error
    import urllib.request
    import uuid

    from demo.limits import MAX_UPLOAD

    limit = int(MAX_UPLOAD.removesuffix("mb")) * 1024 * 1024
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + bytes(limit + 1024)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        f"{studio_server.url}gradio_api/upload",
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=60)
    assert info.value.code == 413
