"""Arrange BDD100K frames in the CycleGAN layout: night frames as domain A, daytime frames as B.

Usage::

    python split_bdd100k.py BDD_ROOT OUT [--copy]

``BDD_ROOT`` is an unpacked BDD100K download with ``images/100k/{train,val}/*.jpg`` and
``labels/bdd100k_labels_images_{train,val}.json`` (every frame's ``attributes.timeofday`` is
``"daytime"``, ``"night"``, ``"dawn/dusk"`` or ``"undefined"``). Writes ``OUT/trainA`` (night)
and ``OUT/trainB`` (daytime) from the train split and ``OUT/testA``/``OUT/testB`` from the val
split, as symbolic links (``--copy`` copies instead). Dawn/dusk and undefined frames are left out.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

DOMAINS = {"night": "A", "daytime": "B"}
SPLITS = {"train": "train", "val": "test"}


def split_bdd100k(root: Path, out: Path, *, copy: bool = False) -> dict[str, int]:
    """Link (or copy) every night and daytime frame of BDD100K into ``out``; returns counts."""
    counts: dict[str, int] = {}
    for bdd_split, split in SPLITS.items():
        labels = root / "labels" / f"bdd100k_labels_images_{bdd_split}.json"
        images = root / "images" / "100k" / bdd_split
        if not labels.is_file():
            raise FileNotFoundError(f"{labels} not found: is {root} a BDD100K folder?")
        for frame in json.loads(labels.read_text()):
            domain = DOMAINS.get(frame.get("attributes", {}).get("timeofday", ""))
            source = images / frame["name"]
            if domain is None or not source.is_file():
                continue
            folder = out / f"{split}{domain}"
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / frame["name"]
            if not target.exists():
                if copy:
                    shutil.copy2(source, target)
                else:
                    target.symlink_to(source.resolve())
            counts[folder.name] = counts.get(folder.name, 0) + 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="BDD100K folder (images/100k, labels)")
    parser.add_argument("out", type=Path, help="output folder (trainA, trainB, testA, testB)")
    parser.add_argument("--copy", action="store_true", help="copy files instead of linking")
    args = parser.parse_args()
    for folder, n in sorted(split_bdd100k(args.root, args.out, copy=args.copy).items()):
        print(f"{args.out / folder}: {n} images")


if __name__ == "__main__":
    main()
