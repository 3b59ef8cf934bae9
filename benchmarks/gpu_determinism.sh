#!/usr/bin/env bash
# Determinism of the workflow's own trainings on this machine's backend (docs/gpu.md), after a
# full run (benchmarks/gpu_check.sh): the same seed trained again, and a training killed
# (kill -9 after epoch 10) then resumed, each compared weight for weight with the first run.
#
#   bash benchmarks/gpu_determinism.sh [PROFILE] [CONFIG...]   (defaults: profiles/gpu)
#
# Trains again, through Snakemake (--forcerun), LeNet seed 1, the SI650 LSTM (lecture split,
# seed 1) and the Indian Pines 3-D CNN (random split, seed 1); kills the MLP (20 epochs,
# seed 1) after epoch 10 and resumes it. Prints one line per model: identical, or the
# largest absolute weight difference. Puts the first models back afterwards (with their time
# stamps, so the main job's evaluations stay up to date).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PROFILE=${1:-profiles/gpu}
shift || true
CONFIG=("$@")
SAVE=results/determinism
rm -rf "$SAVE" && mkdir -p "$SAVE"
SAME=(results/mnist/lenet/e20/seed1/model.keras results/sentiment/lecture/seed1/model.keras
  results/indian_pines/random/seed1/model.keras)
KILLED=results/mnist/mlp/e20/seed1/model.keras
present=()
for m in "${SAME[@]}"; do  # models a partial run did not make are left out, with a line
  if [ -f "$m" ]; then present+=("$m"); else echo "gpu_determinism: $m missing (not trained by the main job): skipped"; fi
done
SAME=(${present[@]+"${present[@]}"})
[ -f "$KILLED" ] || { echo "gpu_determinism: $KILLED missing (run the main job first)" >&2; exit 2; }
for m in ${SAME[@]+"${SAME[@]}"} "$KILLED"; do
  mkdir -p "$SAVE/$(dirname "$m")" && cp -p "$m" "$SAVE/$m"
done
sm() { snakemake --profile "$PROFILE" ${CONFIG[@]+--config "${CONFIG[@]}"} --nolock "$@"; }
t0=$(date +%s)
if [ ${#SAME[@]} -gt 0 ]; then
  sm --forcerun "${SAME[@]}" -- "${SAME[@]}" >"$SAVE/same_seed.log" 2>&1
  echo "same seed again: exit $?, $(($(date +%s) - t0)) s"
fi
t0=$(date +%s)
# the fault checkpoints after epoch 10, then the training process kills itself (kill -9)
DLREPRO_FAULT="SIGKILL@${KILL_AT:-10}:mlp/e20/seed1" sm --forcerun "$KILLED" -- "$KILLED" >"$SAVE/killed.log" 2>&1
echo "killed after epoch ${KILL_AT:-10}: exit $? (expected non-zero)"
sm -- "$KILLED" >"$SAVE/resumed.log" 2>&1
echo "resumed: exit $?, $(($(date +%s) - t0)) s; $(grep -ho 'resuming from.*' logs/mnist/train_mlp_e20_seed1.log | tail -1)"
python3 - "$SAVE" ${SAME[@]+"${SAME[@]}"} "$KILLED" <<'PY'
import os, sys
os.environ.setdefault("KERAS_BACKEND", "jax")
import keras, numpy as np
save, paths = sys.argv[1], sys.argv[2:]
for path in paths:
    first = keras.models.load_model(os.path.join(save, path), compile=False).get_weights()
    again = keras.models.load_model(path, compile=False).get_weights()
    diff = max(float(np.max(np.abs(a - b))) if a.size else 0.0 for a, b in zip(first, again))
    same = all(np.array_equal(a, b) for a, b in zip(first, again))
    print(f"{path}: {'identical weights' if same else f'weights differ, max |diff| {diff:.3g}'}")
PY
rc=$?
for m in ${SAME[@]+"${SAME[@]}"} "$KILLED"; do cp -p "$SAVE/$m" "$m"; done
exit "$rc"
