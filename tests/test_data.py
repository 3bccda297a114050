"""Data readers: every format yields the same canonical FaceSets; bad input fails loudly, naming file and line."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fer.data import (
    CLASS_ALIASES,
    DataBundle,
    DataError,
    FaceSet,
    audit_duplicates,
    carve_val,
    class_index,
    detect_format,
    drop_train_duplicates,
    load_dataset,
    majority_labels,
    make_synthetic_faces,
    mouth_box,
    region_box,
)
from fer.data.classes import class_set
from fer.data.images import read_gray
from fer.data.sources.ferplus import NOT_A_FACE, UNKNOWN, read_ferplus_votes
from fer.labels import FER2013_CLASSES, FERPLUS_CLASSES
from tests.datagen import (
    pixel_string,
    save_image,
    write_class_folders,
    write_fer2013_csv,
    write_npz,
    write_rafdb,
    write_votes_csv,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
USAGES = ["Training"] * 5 + ["PublicTest"] * 3 + ["PrivateTest"] * 2


@pytest.fixture(scope="module")
def faces() -> FaceSet:
    """28 distinct 48x48 faces, 4 per class."""
    return make_synthetic_faces(28, seed=3)


# --- class names --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, index",
    [
        ("angry", 0),
        ("Anger", 0),
        ("DISGUSTED", 1),
        ("afraid", 2),
        ("fearful", 2),
        ("joy", 3),
        ("Happiness", 3),
        ("sadness", 4),
        ("surprised", 5),
        (" neutrality ", 6),
        ("contempt", 7),
    ],
)
def test_class_aliases_map_to_our_order(name, index):
    assert class_index(name, "somewhere") == index


def test_unknown_class_names_the_source_and_the_accepted_names():
    with pytest.raises(DataError, match=r"data/smirk: unknown class 'smirk'.*happiness"):
        class_index("smirk", "data/smirk")


def test_class_set_is_ferplus_only_with_contempt():
    assert class_set(["happy", "Sad"]) == FER2013_CLASSES
    assert class_set(["happy", "Contempt"]) == FERPLUS_CLASSES
    assert set(CLASS_ALIASES.values()) == set(FERPLUS_CLASSES)


# --- fer2013.csv --------------------------------------------------------------------------------------------


def _fer_csv(tmp_path: Path, faces: FaceSet) -> Path:
    return write_fer2013_csv(tmp_path / "fer2013.csv", faces.images[:10], faces.labels[:10], USAGES)


def test_fer2013_csv_official_splits_pixels_labels_ids(tmp_path, faces):
    path = _fer_csv(tmp_path, faces)
    bundle = load_dataset(path)
    assert bundle.format == "fer2013_csv"
    assert list(bundle.splits) == ["train", "val", "test"]
    assert [len(bundle[s]) for s in ("train", "val", "test")] == [5, 3, 2]
    val = bundle["val"]
    np.testing.assert_array_equal(val.images, faces.images[5:8])
    np.testing.assert_array_equal(val.labels, faces.labels[5:8])
    assert val.ids.tolist() == ["fer2013.csv:row=5", "fer2013.csv:row=6", "fer2013.csv:row=7"]
    assert val.class_names == FER2013_CLASSES and val.name == "FER2013" and val.images.dtype == np.uint8
    assert detect_format(tmp_path) == "fer2013_csv"  # the folder holding fer2013.csv


def test_fer2013_csv_in_a_fer2013_subfolder(tmp_path, faces):
    write_fer2013_csv(tmp_path / "fer2013" / "fer2013.csv", faces.images[:10], faces.labels[:10], USAGES)
    assert detect_format(tmp_path) == "fer2013_csv"
    assert len(load_dataset(tmp_path)["train"]) == 5


def test_fer2013_csv_tolerates_spaced_header_and_trailing_blank_line(tmp_path, faces):
    # icml_face_data.csv writes "emotion, Usage, pixels".
    rows = [f"{faces.labels[i]}, {u}, {pixel_string(faces.images[i])}" for i, u in enumerate(USAGES)]
    path = tmp_path / "icml_face_data.csv"
    path.write_text("emotion, Usage, pixels\n" + "\n".join(rows) + "\n\n")
    bundle = load_dataset(path)
    np.testing.assert_array_equal(bundle["test"].images, faces.images[8:10])


def _bad_row(faces: FaceSet, pixels: str | None = None, label: str = "3", usage: str = "Training") -> str:
    return f"{label},{pixel_string(faces.images[0]) if pixels is None else pixels},{usage}"


@pytest.mark.parametrize(
    "kind, message",
    [
        ("non_integer", r"line 3: pixels are not space-separated integers"),
        ("too_few", r"line 3: 2303 pixel values, expected 2304"),
        ("out_of_range", r"line 3: pixel values outside 0\.\.255 \(min 0, max 256\)"),
        ("negative", r"line 3: pixel values outside 0\.\.255"),
        ("label", r"line 3: emotion 7 outside 0\.\.6"),
        ("label_text", r"line 3: emotion 'x' is not an integer"),
        ("usage", r"line 3: unknown Usage 'Validation'; expected one of Training, PublicTest, PrivateTest"),
        ("fields", r"line 3: 2 fields, expected 3"),
    ],
)
def test_fer2013_csv_bad_rows_name_file_and_line(tmp_path, faces, kind, message):
    good = _bad_row(faces)
    px = faces.images[0].reshape(-1).astype(int)
    bad = {
        "non_integer": _bad_row(faces, pixels=pixel_string(faces.images[0]).replace(" ", " abc ", 1)),
        "too_few": _bad_row(faces, pixels=" ".join(map(str, px[:-1]))),
        "out_of_range": _bad_row(faces, pixels=" ".join(map(str, np.r_[0, px[1:-1], 256]))),
        "negative": _bad_row(faces, pixels=" ".join(map(str, np.r_[-1, px[1:]]))),
        "label": _bad_row(faces, label="7"),
        "label_text": _bad_row(faces, label="x"),
        "usage": _bad_row(faces, usage="Validation"),
        "fields": f"3,{pixel_string(faces.images[0])}",
    }[kind]
    path = tmp_path / "fer2013.csv"
    path.write_text(f"emotion,pixels,Usage\n{good}\n{bad}\n{good}\n")
    with pytest.raises(DataError, match=message) as err:
        load_dataset(path)
    assert str(path) in str(err.value)


def test_fer2013_csv_unparseable_line(tmp_path, faces):
    path = tmp_path / "fer2013.csv"
    path.write_text(f"emotion,pixels,Usage\n{_bad_row(faces)}\n3,{'1 ' * 70000},Training\n")
    with pytest.raises(DataError, match=r"fer2013\.csv: line 3: unreadable CSV \(field larger than field limit"):
        load_dataset(path)


def test_fer2013_csv_missing_column(tmp_path, faces):
    path = tmp_path / "train.csv"  # Kaggle's other file: emotion,pixels without Usage
    path.write_text(f"emotion,pixels\n3,{pixel_string(faces.images[0])}\n")
    with pytest.raises(DataError, match=r"train\.csv: line 1: missing column\(s\) usage"):
        load_dataset(path)


# --- image folders --------------------------------------------------------------------------------------------


def test_kaggle_fer2013_folders(tmp_path, faces):
    root = tmp_path / "kaggle"
    write_class_folders(root / "train", faces.images[:2], ["happy", "angry"], ["Training_1.jpg", "Training_2.png"])
    write_class_folders(
        root / "test",
        faces.images[2:5],
        ["happy", "sad", "surprise"],
        ["PublicTest_3.png", "PrivateTest_4.png", "other_5.png"],
    )
    (root / "train" / "happy" / ".DS_Store").write_bytes(b"\x00\x01junk")
    (root / "train" / "happy" / "notes.txt").write_text("not an image")
    (root / "README.md").write_text("not an image either")
    assert detect_format(root) == "image_split_folders"
    bundle = load_dataset(root)
    assert bundle["train"].ids.tolist() == ["train/angry/Training_2.png", "train/happy/Training_1.jpg"]
    assert bundle["train"].labels.tolist() == [0, 3]  # sorted paths: angry first; "happy" -> 3
    assert bundle["val"].ids.tolist() == ["test/happy/PublicTest_3.png"]
    assert bundle["test"].ids.tolist() == ["test/sad/PrivateTest_4.png", "test/surprise/other_5.png"]
    assert bundle["test"].labels.tolist() == [4, 5]
    assert bundle["train"].name == "FER2013" and bundle["train"].images.shape == (2, 48, 48)
    np.testing.assert_array_equal(bundle["val"].images[0], faces.images[2])  # same-size PNGs keep native size
    # The JPEG is lossy: what we read is exactly what its decoder gives.
    decoded = np.asarray(Image.open(root / "train" / "happy" / "Training_1.jpg").convert("L"))
    np.testing.assert_array_equal(bundle["train"].images[1], decoded)


def test_split_folders_with_val_folder_and_no_prefixes(tmp_path, faces):
    root = tmp_path / "mine"
    folders = [FER2013_CLASSES[c] for c in faces.labels[:14]]
    write_class_folders(root / "Train", faces.images[:14], folders, [f"{i}.png" for i in range(14)])
    write_class_folders(root / "validation", faces.images[14:16], ["happy", "sad"], ["a.png", "b.png"])
    write_class_folders(root / "test", faces.images[16:18], ["happy", "sad"], ["a.png", "b.png"])
    bundle = load_dataset(root)
    assert [len(bundle[s]) for s in ("train", "val", "test")] == [14, 2, 2]
    assert bundle["train"].name == "mine"
    assert not any("carved" in n for n in bundle["train"].notes)  # it has a val split: nothing carved


def test_class_folders_aliases_contempt_and_resizing(tmp_path, faces):
    root = tmp_path / "ckplus"
    write_class_folders(root, faces.images[:3], ["Happiness", "ANGER", "contempt"], ["a.png", "b.png", "c.png"])
    big = np.asarray(Image.fromarray(faces.images[3]).resize((64, 80)))
    save_image(root / "surprised" / "nested" / "d.png", big)  # a nested folder inside a class folder is fine
    assert detect_format(root) == "image_class_folders"
    bundle = load_dataset(root, image_size=32)
    everything = bundle["all"]
    assert list(bundle.splits) == ["all"] and everything.class_names == FERPLUS_CLASSES
    assert everything.ids.tolist() == ["ANGER/b.png", "Happiness/a.png", "contempt/c.png", "surprised/nested/d.png"]
    assert everything.labels.tolist() == [0, 3, 7, 5]
    assert everything.images.shape == (4, 32, 32)
    assert any("resized to 32x32" in n for n in everything.notes)
    assert bundle.eval_split() is everything


def test_unknown_class_folder_is_refused(tmp_path, faces):
    root = tmp_path / "mine"
    write_class_folders(root, faces.images[:2], ["happy", "smirk"], ["a.png", "b.png"])
    with pytest.raises(DataError, match=r"mine/smirk: unknown class 'smirk'"):
        load_dataset(root)


def test_unreadable_image_names_the_file(tmp_path, faces):
    root = tmp_path / "mine"
    write_class_folders(root, faces.images[:1], ["happy"], ["a.png"])
    (root / "happy" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    with pytest.raises(DataError, match=r"happy/broken\.jpg: cannot read image"):
        load_dataset(root)


def test_truncated_image_names_the_file(tmp_path, faces):
    root = tmp_path / "mine"
    path = save_image(root / "sad" / "t.png", faces.images[0])
    path.write_bytes(path.read_bytes()[:-60])  # header fine, pixel data cut
    with pytest.raises(DataError, match=r"sad/t\.png: cannot read image"):
        load_dataset(root)


def test_image_modes_become_the_same_grayscale(tmp_path, faces):
    gray = faces.images[0]
    rgb = Image.fromarray(gray).convert("RGB")
    cases = {
        "l.png": Image.fromarray(gray),
        "rgb.png": rgb,
        "rgba.png": rgb.convert("RGBA"),
        "p.png": Image.fromarray(gray).convert("P"),
        "cmyk.tif": rgb.convert("CMYK"),
        "i16.png": Image.fromarray(gray.astype(np.uint16) * 257),  # 16-bit: must be scaled, not clipped
    }
    for name, im in cases.items():
        path = save_image(tmp_path / name, im)
        np.testing.assert_array_equal(read_gray(path), gray, err_msg=f"{name} ({Image.open(path).mode})")
    assert Image.open(tmp_path / "i16.png").mode.startswith("I")
    clear = save_image(tmp_path / "clear.png", Image.new("RGBA", (8, 8), (0, 0, 0, 0)))
    assert (read_gray(clear) == 255).all()  # transparent -> white background, not the hidden black


def test_exif_orientation_is_applied(tmp_path, faces):
    im = Image.fromarray(faces.images[0])
    exif = im.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    path = save_image(tmp_path / "rotated.png", im, exif=exif)
    np.testing.assert_array_equal(read_gray(path), np.rot90(faces.images[0], k=-1))


# --- npz --------------------------------------------------------------------------------------------------------


def test_npz_dir_maps_foreign_class_order_by_name(tmp_path, faces):
    rafdb_order = np.array(["Surprise", "Fear", "Disgust", "Happiness", "Sadness", "Anger", "Neutral"])
    ours_to_file = {5: 0, 2: 1, 1: 2, 3: 3, 4: 4, 0: 5, 6: 6}
    file_labels = np.array([ours_to_file[int(c)] for c in faces.labels])
    write_npz(tmp_path / "train.npz", faces.images[:20], file_labels[:20], class_names=rafdb_order)
    write_npz(
        tmp_path / "publictest.npz",
        faces.images[20:],
        file_labels[20:],
        class_names=rafdb_order,
        names=np.array([f"v{i}.png" for i in range(8)]),
        fer_row=np.arange(8),
    )
    assert detect_format(tmp_path) == "npz_dir"
    bundle = load_dataset(tmp_path)
    np.testing.assert_array_equal(bundle["train"].labels, faces.labels[:20])
    np.testing.assert_array_equal(bundle["val"].labels, faces.labels[20:])
    np.testing.assert_array_equal(bundle["val"].images, faces.images[20:])
    assert bundle["train"].ids[:2].tolist() == ["train.npz:0", "train.npz:1"]
    assert bundle["val"].ids[0] == "v0.png"
    assert "test" not in bundle and "val" in bundle  # FER2013 has an official val: nothing carved
    assert not any("carved" in n for n in bundle["train"].notes)


def test_single_npz_is_split_all(tmp_path, faces):
    path = write_npz(tmp_path / "jaffe.npz", faces.images, faces.labels)
    assert detect_format(path) == "npz"
    bundle = load_dataset(path)
    assert list(bundle.splits) == ["all"]
    assert bundle["all"].name == "jaffe" and bundle["all"].class_names == FER2013_CLASSES
    assert bundle.eval_split().split == "all"


def test_shared_style_parent_folder(tmp_path, faces):
    write_npz(tmp_path / "fer2013" / "train.npz", faces.images, faces.labels)
    assert detect_format(tmp_path) == "npz_dir"
    assert len(load_dataset(tmp_path, val_fraction=0.25)["val"]) == 7  # 1 of each class's 4


TWO = np.zeros((2, 48, 48), np.uint8)


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"images": TWO.astype(np.float32), "labels": np.zeros(2, np.int64)}, r"'images' must be uint8"),
        ({"images": TWO, "labels": np.array([0, 9])}, r"labels outside 0\.\.7"),
        ({"images": TWO, "labels": np.zeros(3, np.int64)}, r"'labels' must be 2 integers"),
        ({"images": TWO}, r"no 'labels' array"),
        ({"images": TWO, "labels": np.array([0, 1]), "class_names": np.array(["a", "b"])}, r"unknown class 'a'"),
        ({"images": TWO, "labels": np.array([0, 2]), "class_names": np.array(["sad"])}, r"outside 0\.\.0 \(1 class"),
        ({"images": TWO, "labels": np.array([0, 1]), "class_names": np.array(["sad", "Sadness"])}, r"same class"),
        ({"images": TWO, "labels": np.zeros(2, int), "names": np.array(["a", "a"])}, r"'names' are not unique"),
        ({"images": TWO, "labels": np.zeros(2, int), "names": np.array([{}, {}])}, r"cannot be read without pickle"),
        ({"images": TWO, "labels": np.zeros(2, int), "fer_row": np.array([0, -2])}, r"'fer_row' has values below -1"),
    ],
)
def test_bad_npz_names_file_and_problem(tmp_path, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError, match=message) as err:
        load_dataset(path)
    assert str(path) in str(err.value)


def test_not_a_zip_npz(tmp_path):
    path = tmp_path / "x.npz"
    path.write_bytes(b"definitely not a zip")
    with pytest.raises(DataError, match=r"x\.npz: not a readable \.npz"):
        load_dataset(path)


# --- RAF-DB ------------------------------------------------------------------------------------------------------


def test_rafdb_labels_splits_and_carved_val(tmp_path, faces):
    names = [f"train_{i:05d}.jpg" for i in range(1, 21)] + [f"test_{i:04d}.jpg" for i in range(1, 9)]
    write_rafdb(tmp_path / "rafdb", faces.images, faces.labels, names)
    assert detect_format(tmp_path / "rafdb") == "rafdb"
    bundle = load_dataset(tmp_path / "rafdb", val_fraction=0.25, seed=1)
    assert list(bundle.splits) == ["train", "val", "test"]
    train, val, test = bundle["train"], bundle["val"], bundle["test"]
    assert len(train) + len(val) == 20 and len(test) == 8
    assert train.images.shape[1:] == (100, 100) and train.name == "RAF-DB"
    assert test.ids[0] == "Image/aligned/test_0001_aligned.jpg"
    np.testing.assert_array_equal(test.labels, faces.labels[20:])  # RAF-DB codes mapped back to ours
    assert set(train.ids) | set(val.ids) == {f"Image/aligned/{n[:-4]}_aligned.jpg" for n in names[:20]}
    assert not set(train.ids) & set(val.ids)
    assert any("stratified 25%" in n and "seed 1" in n for n in val.notes)
    assert any("stratified 25%" in n for n in train.notes)
    small = np.asarray(Image.fromarray(test.images[0]).resize((48, 48), Image.Resampling.BILINEAR))
    assert np.abs(small.astype(int) - faces.images[20]).mean() < 6  # gray -> RGB JPEG -> gray: close


def test_rafdb_happiness_code_4_is_our_happy(tmp_path, faces):
    root = tmp_path / "rafdb"
    label_file = write_rafdb(root, faces.images[:1], [3], ["test_0001.jpg"], emolabel=False)
    assert label_file.read_text().split() == ["test_0001.jpg", "4"]
    assert load_dataset(root)["test"].labels.tolist() == [3]


@pytest.mark.parametrize(
    "line, message",
    [
        ("train_00002.jpg 8", r"line 2: label '8' is not in 1\.\.7"),
        ("train_00002.jpg", r"line 2: expected '<image name> <label 1\.\.7>'"),
        ("val_00002.jpg 1", r"line 2: image name 'val_00002\.jpg' starts with neither"),
        ("train_00099.jpg 1", r"line 2: image .*train_00099_aligned\.jpg not found"),
    ],
)
def test_rafdb_bad_line_names_file_and_line(tmp_path, faces, line, message):
    root = tmp_path / "rafdb"
    label_file = write_rafdb(root, faces.images[:2], [0, 1], ["train_00001.jpg", "train_00002.jpg"])
    label_file.write_text(f"train_00001.jpg 6\n{line}\n")
    with pytest.raises(DataError, match=message) as err:
        load_dataset(root)
    assert "list_patition_label.txt" in str(err.value)


# --- FERPlus ------------------------------------------------------------------------------------------------------

# Columns: neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF.
VOTE_CASES = [
    ([0, 0, 0, 0, 8, 2, 0, 0, 0, 0], 0),  # anger -> our angry (0)
    ([5, 1, 1, 1, 1, 1, 0, 0, 0, 0], 6),  # single votes removed first: 5 of 5 is a majority -> neutral
    ([4, 4, 2, 0, 0, 0, 0, 0, 0, 0], UNKNOWN),  # no count above half of 10
    ([5, 5, 0, 0, 0, 0, 0, 0, 0, 0], UNKNOWN),  # exactly half is not a majority
    ([0, 0, 0, 0, 0, 0, 0, 0, 8, 2], UNKNOWN),  # majority says "unknown"
    ([1, 0, 0, 0, 0, 0, 0, 0, 0, 9], NOT_A_FACE),
    ([2, 0, 0, 0, 0, 0, 0, 8, 0, 0], 7),  # contempt
    ([0, 6, 0, 0, 0, 0, 0, 0, 4, 0], 3),  # 6 > 5: happiness -> happy
    ([0, 0, 7, 0, 0, 0, 3, 0, 0, 0], 5),  # surprise
    ([0, 0, 0, 9, 0, 0, 0, 0, 0, 1], 4),  # sadness -> sad; NF's single vote removed
    ([0, 0, 0, 0, 0, 10, 0, 0, 0, 0], 1),  # disgust
    ([2, 0, 0, 0, 0, 0, 6, 0, 2, 0], 2),  # fear: 6 of 10
    ([1, 1, 1, 1, 1, 1, 1, 1, 1, 1], UNKNOWN),  # nothing left after outlier removal
]


def test_ferplus_majority_rule_and_column_mapping():
    votes = np.array([v for v, _ in VOTE_CASES])
    assert majority_labels(votes).tolist() == [label for _, label in VOTE_CASES]


def _ferplus_files(tmp_path: Path, faces: FaceSet) -> tuple[Path, Path]:
    images = faces.images[: len(VOTE_CASES)]
    usages = ["Training"] * 7 + ["PublicTest"] * 4 + ["PrivateTest"] * 2
    csv_path = write_fer2013_csv(tmp_path / "fer" / "fer2013.csv", images, faces.labels[: len(images)], usages)
    votes = write_votes_csv(tmp_path / "ferplus" / "fer2013new.csv", [v for v, _ in VOTE_CASES], usages)
    return csv_path, votes


def test_ferplus_relabels_fer2013_csv(tmp_path, faces):
    csv_path, votes = _ferplus_files(tmp_path, faces)
    bundle = load_dataset(csv_path, ferplus=votes.parent)
    assert bundle.format == "fer2013_csv+ferplus"
    train = bundle["train"]
    # Training rows 0..6: angry, neutral, unknown, unknown, unknown, NF, contempt.
    assert train.ids.tolist() == ["fer2013.csv:row=0", "fer2013.csv:row=1", "fer2013.csv:row=6"]
    assert train.labels.tolist() == [0, 6, 7]
    assert train.class_names == FERPLUS_CLASSES and train.name == "FERPlus"
    np.testing.assert_array_equal(train.images, faces.images[[0, 1, 6]])
    assert any("kept 3 of 7" in n and "3 unknown" in n and "1 not a face" in n for n in train.notes)
    assert bundle["val"].labels.tolist() == [3, 5, 4, 1]
    assert bundle["test"].labels.tolist() == [2]


def test_ferplus_joins_npz_through_fer_row(tmp_path, faces):
    _, votes = _ferplus_files(tmp_path, faces)
    rows = np.array([6, 0, -1, 1, 5])  # -1: row unknown -> dropped; 5 is NF -> dropped
    write_npz(tmp_path / "npz" / "train.npz", faces.images[rows], np.zeros(5, np.int64), fer_row=rows)
    bundle = load_dataset(tmp_path / "npz", ferplus=votes)
    np.testing.assert_array_equal(bundle["train"].images, faces.images[[6, 0, 1]])
    assert bundle["train"].labels.tolist() == [7, 0, 6]
    assert any("1 without a fer2013.csv row" in n and "1 not a face" in n for n in bundle["train"].notes)


def test_ferplus_refuses_mismatched_usage_and_missing_fer_row(tmp_path, faces):
    _, votes = _ferplus_files(tmp_path, faces)
    write_npz(tmp_path / "a" / "train.npz", faces.images[:2], [0, 0], fer_row=np.array([0, 8]))  # 8 is PublicTest
    with pytest.raises(DataError, match=r"1 train images join to votes rows whose Usage is not Training"):
        load_dataset(tmp_path / "a", ferplus=votes)
    write_npz(tmp_path / "b" / "train.npz", faces.images[:2], [0, 0])
    with pytest.raises(DataError, match=r"no fer2013\.csv row per image"):
        load_dataset(tmp_path / "b", ferplus=votes)
    write_class_folders(tmp_path / "c", faces.images[:1], ["happy"], ["a.png"])
    with pytest.raises(DataError, match=r"can only relabel FER2013 images"):
        load_dataset(tmp_path / "c", ferplus=votes)


def test_bad_votes_row_names_file_and_line(tmp_path, faces):
    csv_path, votes = _ferplus_files(tmp_path, faces)
    lines = votes.read_text().splitlines()
    lines[3] = lines[3].replace(",0,", ",x,", 1)
    votes.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"fer2013new\.csv: line 4: vote counts must be integers"):
        load_dataset(csv_path, ferplus=votes)


def test_votes_file_alone_explains_what_is_missing(tmp_path, faces):
    _, votes = _ferplus_files(tmp_path, faces)
    assert detect_format(votes) == "ferplus_votes"
    assert len(read_ferplus_votes(tmp_path)) == len(VOTE_CASES)  # found in a ferplus/ subfolder too
    assert detect_format(votes.parent) == "ferplus_votes"
    with pytest.raises(DataError, match=r"holds labels but no images.*--ferplus"):
        load_dataset(votes)


# --- format detection ---------------------------------------------------------------------------------------------


def test_bad_arguments(tmp_path, faces):
    path = write_npz(tmp_path / "a.npz", faces.images, faces.labels)
    with pytest.raises(ValueError, match="val_fraction"):
        load_dataset(path, val_fraction=1.0)
    with pytest.raises(DataError, match=r"nowhere: no FERPlus votes file"):
        load_dataset(path, ferplus=tmp_path / "nowhere")


def test_unrecognised_paths(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"not a dataset layout we recognise; looked for .*fer2013\.csv.*RAF-DB"):
        detect_format(tmp_path / "empty")
    with pytest.raises(DataError, match=r"no such file or directory"):
        detect_format(tmp_path / "missing")
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match=r"other\.csv: a CSV without a 'pixels' column"):
        detect_format(other)
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(DataError, match=r"x\.txt: not a dataset file"):
        detect_format(tmp_path / "x.txt")


# --- bundle, val carving -------------------------------------------------------------------------------------


def test_bundle_access_and_eval_split(faces):
    val = make_synthetic_faces(7, split="val")
    bundle = DataBundle({"train": faces, "val": val}, format="test", source="mem")
    assert "val" in bundle and "test" not in bundle and bundle.get("test") is None
    assert bundle.eval_split() is val  # no test, no all -> val
    with pytest.raises(DataError, match=r"no 'test' split; this dataset has train, val"):
        bundle["test"]
    with pytest.raises(DataError, match=r"nothing to evaluate on.*has train"):
        DataBundle({"train": faces}, "test", "mem").eval_split()
    lines = bundle.summary().splitlines()
    assert lines[0].startswith("synthetic train: 28 images 48x48") and lines[1].startswith("synthetic val: 7")


def test_carve_val_is_stratified_and_seeded():
    train = make_synthetic_faces(700, seed=5)
    rest, val = carve_val(train, 0.2, seed=0)
    assert np.bincount(val.labels).tolist() == [20] * 7 and len(rest) == 560
    assert not set(rest.ids) & set(val.ids) and set(rest.ids) | set(val.ids) == set(train.ids)
    assert carve_val(train, 0.2, seed=0)[1].ids.tolist() == val.ids.tolist()
    assert carve_val(train, 0.2, seed=1)[1].ids.tolist() != val.ids.tolist()
    assert val.split == "val"


# --- duplicate audit ---------------------------------------------------------------------------------------------


def _audit_bundle() -> DataBundle:
    base = make_synthetic_faces(14, seed=9)
    im = base.images
    # train: A B C D D' E E F G H  (D' = D relabelled: a conflicting twin group; E E agree)
    train_idx = [0, 1, 2, 3, 3, 4, 4, 5, 6, 7]
    train_labels = [0, 1, 2, 3, 4, 5, 5, 6, 0, 1]
    val_idx, test_idx = [0, 1, 10, 11], [2, 12, 3, 10]  # val: A B X Y; test: C Z D X

    def make(idx: list[int], labels: list[int], split: str) -> FaceSet:
        ids = np.asarray([f"{split}{i}" for i in range(len(idx))])
        return FaceSet(im[idx], np.asarray(labels, np.int64), ids, FER2013_CLASSES, "t", split, "mem")

    return DataBundle(
        {
            "train": make(train_idx, train_labels, "train"),
            "val": make(val_idx, [0] * 4, "val"),
            "test": make(test_idx, [0] * 4, "test"),
        },
        "test",
        "mem",
    )


def test_audit_counts_known_duplicates():
    report = audit_duplicates(_audit_bundle())
    assert report.train_twins["val"].tolist() == [0, 1]
    assert report.train_twins["test"].tolist() == [2, 3, 4]  # C, and both copies of D
    assert report.twins_in_train == {"val": 2, "test": 2}
    assert (report.within_train, report.within_train_groups, report.conflicting_groups) == (4, 2, 1)
    assert report.between == {("test", "val"): 1}
    assert report.summary().startswith(
        "train has 2 exact duplicates of val images and 3 exact duplicates of test images "
        "(2 val images have a twin in train, 2 test images have a twin in train); "
        "4 train images have a twin inside train (2 groups, 1 with conflicting labels)"
    )


def test_drop_train_duplicates():
    bundle = _audit_bundle()
    cleaned, removed = drop_train_duplicates(bundle)
    assert removed == 5 and len(cleaned["train"]) == 5
    assert cleaned["train"].ids.tolist() == ["train5", "train6", "train7", "train8", "train9"]
    assert any("dropped 5 train images" in n for n in cleaned["train"].notes)
    assert cleaned["val"] is bundle["val"] and len(bundle["train"]) == 10  # the input is untouched
    again = audit_duplicates(cleaned)
    assert all(len(i) == 0 for i in again.train_twins.values())
    assert drop_train_duplicates(cleaned) == (cleaned, 0)


# --- synthetic faces -----------------------------------------------------------------------------------------------


def test_synthetic_is_deterministic_balanced_and_fast():
    start = time.perf_counter()
    a = make_synthetic_faces(1000, seed=4)
    elapsed = time.perf_counter() - start
    assert elapsed < 3.0, f"1,000 faces took {elapsed:.2f}s"
    b = make_synthetic_faces(1000, seed=4)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.array_equal(a.images, make_synthetic_faces(1000, seed=5).images)
    assert np.bincount(a.labels).tolist() == [143] * 6 + [142]
    assert a.images.shape == (1000, 48, 48) and a.class_names == FER2013_CLASSES
    assert make_synthetic_faces(16, num_classes=8, size=64).class_names == FERPLUS_CLASSES
    assert len(np.unique(a.images.reshape(1000, -1), axis=0)) == 1000


@pytest.mark.parametrize("region", ["mouth", "eyes"])
def test_synthetic_class_signal_lives_only_in_its_box(region):
    size = 48
    train, test = make_synthetic_faces(1400, seed=0, region=region), make_synthetic_faces(1400, seed=1, region=region)
    x0, y0, x1, y1 = region_box(size, region)
    inside = np.zeros((size, size), dtype=bool)
    inside[y0:y1, x0:x1] = True

    def features(faces: FaceSet, mask: np.ndarray) -> np.ndarray:
        x = faces.images[:, mask].astype(np.float64)
        x = (x - x.mean(1, keepdims=True)) / (x.std(1, keepdims=True) + 1e-6)  # undo brightness and contrast
        return np.c_[x, np.ones(len(x))]

    def linear_accuracy(mask: np.ndarray) -> float:
        """Held-out accuracy of a ridge classifier that sees only the pixels in ``mask``."""
        a, b = features(train, mask), features(test, mask)
        weights = np.linalg.solve(a.T @ a + 10 * np.eye(a.shape[1]), a.T @ np.eye(7)[train.labels])
        return float(((b @ weights).argmax(1) == test.labels).mean())

    assert linear_accuracy(inside) > 0.8
    assert linear_accuracy(~inside) < 0.2  # chance is 1/7; 0.2 is 6 standard errors above it
    # Class-mean images: they differ inside the box, and outside only as much as random label splits do.
    means = np.stack([train.images[train.labels == c].astype(np.float64).mean(0) for c in range(7)])
    spread = means.max(0) - means.min(0)
    shuffled = np.random.default_rng(0).permutation(train.labels)
    null = np.stack([train.images[shuffled == c].astype(np.float64).mean(0) for c in range(7)])
    null_spread = null.max(0) - null.min(0)
    assert spread[inside].max() > 40
    assert spread[~inside].mean() < 1.3 * null_spread[~inside].mean()


def test_mouth_box_is_inside_the_image_and_below_the_eyes():
    for size in (48, 64, 96, 224):
        x0, y0, x1, y1 = mouth_box(size)
        assert 0 <= x0 < x1 <= size and 0 <= y0 < y1 <= size
        assert y0 >= region_box(size, "eyes")[3] - 1 and y0 > size // 2


# --- the real FER2013 / FERPlus data in ../shared/data (skipped when absent) -----------------------------------

needs_shared = pytest.mark.skipif(not (SHARED / "fer2013" / "train.npz").is_file(), reason=f"{SHARED} not present")


@pytest.fixture(scope="module")
def real() -> DataBundle:
    if not (SHARED / "fer2013" / "train.npz").is_file():
        pytest.skip(f"{SHARED} not present")
    return load_dataset(SHARED)


@needs_shared
def test_real_fer2013_counts(real):
    assert real.format == "npz_dir" and list(real.splits) == ["train", "val"]
    assert real["train"].class_counts() == dict(zip(FER2013_CLASSES, [3995, 436, 4097, 7215, 4830, 3171, 4965]))
    assert len(real["val"]) == 3589
    assert real["val"].class_counts() == dict(zip(FER2013_CLASSES, [467, 56, 496, 895, 653, 415, 607]))
    assert real["train"].images.shape[1:] == (48, 48)
    assert real["train"].ids[0] == "train/angry/Training_10118481.jpg"


@needs_shared
def test_real_duplicate_audit(real):
    report = audit_duplicates(real)
    # README: 280 publictest images have an exact twin in train; 2,271 train images have one inside train,
    # 39 groups with conflicting labels. Seen from train, 351 train images duplicate a val image.
    assert report.twins_in_train["val"] == 280
    assert len(report.train_twins["val"]) == 351
    assert report.within_train == 2271 and report.conflicting_groups == 39
    assert report.within_train_groups == 1035


@needs_shared
def test_real_ferplus_join():
    if not (SHARED / "ferplus" / "fer2013new.csv").is_file():
        pytest.skip("fer2013new.csv not present")
    bundle = load_dataset(SHARED, ferplus=SHARED / "ferplus")
    train, val = bundle["train"], bundle["val"]
    assert train.class_names == FERPLUS_CLASSES
    # Measured: train keeps 25,059 of 28,709 (149 without a row: 148 not-a-face images + row 5274,
    # 3,499 unknown, 2 not a face); val keeps 3,199 of 3,589 (10 without a row, 380 unknown).
    assert len(train) == 25059 and len(val) == 3199
    assert any("dropped 149 without a fer2013.csv row, 3499 unknown" in n and "2 not a face" in n for n in train.notes)
    assert any("dropped 10 without a fer2013.csv row, 380 unknown" in n for n in val.notes)
    assert train.class_counts()["contempt"] == 119 and train.class_counts()["neutral"] == 8739
