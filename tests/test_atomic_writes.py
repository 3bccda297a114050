"""Atomic writes clean up after a killed writer; train.py checks its output folder before any work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fer.atomic import atomic_write, atomic_write_dir, remove_orphans


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_temporaries_of_a_killed_writer_are_removed_by_the_next_write(tmp_path: Path) -> None:
    target = tmp_path / "model.safetensors"
    orphan = tmp_path / f".model.{dead_pid()}.k3j2h1.safetensors"  # what kill -9 mid-save leaves
    orphan.write_bytes(b"half a file")
    alive = tmp_path / f".model.{os.getppid()}.x9y8z7.safetensors"  # a writer still running: not touched
    alive.write_bytes(b"being written")
    other = tmp_path / ".meta.123.json"
    other.write_text("{}")
    atomic_write(target, lambda tmp: tmp.write_bytes(b"complete"))
    assert target.read_bytes() == b"complete"
    assert not orphan.exists() and alive.exists() and other.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, alive.name, other.name])


def test_half_written_folders_of_a_dead_process_are_removed_whole(tmp_path: Path) -> None:
    folder = tmp_path / "vgg-openvino2025.1.0-abc123"  # dots in a folder's name are not a suffix
    orphan = tmp_path / f".{folder.name}.{dead_pid()}.q1w2e3"  # what a process that exited mid-export leaves
    (orphan / "sub").mkdir(parents=True)
    (orphan / "sub" / "trunk.onnx").write_bytes(b"half")
    alive = tmp_path / f".{folder.name}.{os.getppid()}.r4t5y6"  # still being written: not touched
    alive.mkdir()
    other = tmp_path / f".vgg-openvino2025.{dead_pid()}.u7i8o9"  # another folder's temporary
    other.mkdir()
    assert remove_orphans(folder, folder=True) == [orphan]
    assert not orphan.exists() and alive.exists() and other.exists()


def test_a_folder_appears_whole_and_a_second_writer_keeps_the_first(tmp_path: Path) -> None:
    target = tmp_path / "cache" / "model-openvino2026.4-abc"
    orphan = tmp_path / "cache" / f".{target.name}.999999999.x"  # a killed writer's half-done folder
    orphan.mkdir(parents=True)
    (orphan / "half").write_text("x")

    def write(folder: Path) -> None:
        assert not target.exists()  # nothing is visible while it is written
        (folder / "trunk.xml").write_text("first")

    assert atomic_write_dir(target, write) == target
    assert (target / "trunk.xml").read_text() == "first" and not orphan.exists()
    atomic_write_dir(target, lambda folder: (folder / "trunk.xml").write_text("second"))  # lost the race
    assert (target / "trunk.xml").read_text() == "first"
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]  # no temporary left behind


def test_a_killed_save_leaves_a_temporary_the_next_save_removes(tmp_path: Path) -> None:
    script = (
        "import os, signal, sys\n"
        "from fer.atomic import atomic_write\n"
        "def write(tmp):\n"
        "    tmp.write_bytes(b'partial')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        f"atomic_write({str(tmp_path / 'resume.pt')!r}, write)\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[1], check=False)
    assert [p.name.startswith(".resume.") for p in tmp_path.iterdir()] == [True]
    atomic_write(tmp_path / "resume.pt", lambda tmp: tmp.write_bytes(b"whole"))
    assert [p.name for p in tmp_path.iterdir()] == ["resume.pt"]


def test_train_refuses_an_unwritable_output_folder_before_loading_data(tmp_path: Path) -> None:
    import train

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(SystemExit, match="cannot write to --out"):
        train.main(["--model", "resemotenet", "--data", str(tmp_path / "no-such-data"), "--out", str(blocker / "x")])
