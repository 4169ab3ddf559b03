#!/usr/bin/python3
"""Prepares the shared test archive once per build: make_archive.py DATASPACE_BIN DIR.

Eleven days of the synthetic Bolzano archive (every mission, scale 10, seed 7), catalogued, in DIR.
Built in a temporary directory and renamed into place, so a run interrupted half-way leaves nothing
a later run would trust; an archive already in place (with its stamp) is kept.
"""
import os
import shutil
import subprocess
import sys

STAMP = "bolzano 2022-06-10..2022-06-20 scale 10 seed 7 v3"


def main():
    binary, target = sys.argv[1], os.path.abspath(sys.argv[2])
    stamp = os.path.join(target, "ARCHIVE")
    if os.path.exists(stamp) and open(stamp).read().strip() == STAMP:
        print("archive ready:", target)
        return 0
    tmp = target + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    subprocess.run([binary, "synth", "--data", tmp, "--region", "bolzano", "--from", "2022-06-10", "--to",
                    "2022-06-20", "--scale", "10", "--seed", "7"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([binary, "ingest", "--data", tmp], check=True)
    with open(os.path.join(tmp, "ARCHIVE"), "w") as f:
        f.write(STAMP + "\n")
    shutil.rmtree(target, ignore_errors=True)
    os.rename(tmp, target)
    print("archive made:", target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
