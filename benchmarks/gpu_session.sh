#!/usr/bin/env bash
# One GPU session's measurements in one command, within a time budget, resumable (docs/gpu.md).
#
#   bash benchmarks/gpu_session.sh [WHEELS] [DATA]          (defaults: .whl .gpudata)
#
# Runs these stages in order, each only while time is left, and skips the ones a previous call
# on the same machine finished (markers in results/gpu_session/). Call it again with the same
# command to go on where the budget stopped it: the main job resumes (Snakemake keeps finished
# outputs; an interrupted training resumes from its checkpoint).
#   main         benchmarks/gpu_check.sh: the full default reproduction on real data, JAX backend
#   determinism  benchmarks/gpu_determinism.sh: same seed again, kill -9 and resume, weights compared
#   flags        benchmarks/xla_flags.py: s/epoch and same weights per seed under XLA's flags
#   gap          benchmarks/accuracy_gap.py: the LeNet question (plain, plain + flag, pipeline)
#
# Environment:
#   GPU_SESSION_BUDGET   seconds this call may take in all (default 570: under a 600 s limit)
#   GPU_SESSION_STAGES   the stages, in order (default "main determinism flags gap")
#   GPU_SESSION_PROFILE  the Snakemake profile of main and determinism (default profiles/gpu)
#   GPU_SESSION_CONFIG   more --config items of both, separated by ";" (as GPU_CHECK_CONFIG)
#   GPU_SESSION_FLAGS    options of xla_flags.py (default "--models cnn3d,lenet --epochs 10 --reps 2")
#   GPU_SESSION_GAP      options of accuracy_gap.py
#                        (default "--model lenet --seeds 1,2,3 --sides plain,plain-deterministic,pipeline")
#   GPU_SESSION_STATE    the markers and logs of the stages (default results/gpu_session)
#   OUT                  where the files go (default results/gpu_session/out): gpu_check.sh's seven
#                        (reproduction.md/.csv, job_times.tsv, snakemake.log, gpu_check.txt,
#                        gpu_usage.csv, results.tar.gz) when main ran in this call, and session.txt
#                        (each stage's status and report): at most 8
# Exit status: 0 when every stage is done (now or before), 3 when some are left for another call.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
T0=$(date +%s)
DEADLINE=$((T0 + ${GPU_SESSION_BUDGET:-570}))
WHEELS=${1:-$ROOT/.whl}
DATA=${2:-$ROOT/.gpudata}
STATE=${GPU_SESSION_STATE:-$ROOT/results/gpu_session}
RESULT=${OUT:-$STATE/out}
PROFILE=${GPU_SESSION_PROFILE:-profiles/gpu}
SITE=${GPU_CHECK_SITE:-/tmp/dlrepro-site}
MIRROR=${GPU_CHECK_MIRROR:-/tmp/dlrepro-data}
mkdir -p "$STATE" "$RESULT"
SESSION=$STATE/session.txt
{ echo "=== gpu_session: $(date -Is), budget ${GPU_SESSION_BUDGET:-570} s, checkout $(git log -1 --format=%h 2>/dev/null)"; } >>"$SESSION"
say() { echo "$*" | tee -a "$SESSION"; }
left() { echo $((DEADLINE - $(date +%s))); }
finish() {
  say "=== gpu_session: $(($(date +%s) - T0)) s; done: $(cd "$STATE" && ls ./*.done 2>/dev/null | sed 's|./||; s|.done||' | tr '\n' ' ')"
  cp "$SESSION" "$RESULT/session.txt"
}
trap 'say "gpu_session: interrupted"; finish; exit 143' TERM INT

# the stages after main use what main installed (the wheels, the unpacked data mirror)
tools_env() {
  [ -d "$SITE/snakemake" ] && [ -d "$MIRROR" ] || {
    say "--- $1: not started (needs $SITE and $MIRROR, which the main stage makes on this machine)"
    return 1
  }
  export PYTHONPATH=$SITE:$ROOT/scripts PATH=$SITE/bin:$PATH PYTHONNOUSERSITE=1
  export KERAS_BACKEND=jax DLREPRO_SHARED_DATA=$MIRROR XLA_PYTHON_CLIENT_PREALLOCATE=false TF_CPP_MIN_LOG_LEVEL=2
}

# run_stage NAME MIN_SECONDS REPORT_FILE COMMAND...: under `timeout` with the time left
run_stage() {
  local name=$1 min=$2 report=$3 rc s
  shift 3
  s=$(($(left) - 10))
  if [ "$s" -lt "$min" ]; then say "--- $name: not started ($s s left, needs $min)"; return 3; fi
  say "--- $name: $* (at most $s s)"
  local t=$(date +%s)
  timeout --signal=INT --kill-after=15 "$s" "$@" >"$STATE/$name.log" 2>&1
  rc=$?
  say "--- $name: exit $rc after $(($(date +%s) - t)) s$([ "$rc" = 124 ] && echo ' (stopped by the budget)')"
  if [ -n "$report" ] && [ -f "$report" ]; then tee -a "$SESSION" <"$report"; else tail -n 30 "$STATE/$name.log" | tee -a "$SESSION"; fi
  [ "$rc" = 0 ] && touch "$STATE/$name.done"
  return "$rc"
}

IFS=";" read -r -a CONFIG <<<"${GPU_SESSION_CONFIG:-}"
read -r -a FLAGS <<<"${GPU_SESSION_FLAGS:---models cnn3d,lenet --epochs 10 --reps 2}"
read -r -a GAP <<<"${GPU_SESSION_GAP:---model lenet --seeds 1,2,3 --sides plain,plain-deterministic,pipeline}"
pending=0
for stage in ${GPU_SESSION_STAGES:-main determinism flags gap}; do
  if [ -f "$STATE/$stage.done" ]; then say "--- $stage: done in an earlier call"; continue; fi
  case $stage in
    main)
      # gpu_check stops Snakemake itself in time to collect before the end of the budget
      GPU_CHECK_DEADLINE=$((DEADLINE - 20)) GPU_CHECK_PROFILE=$PROFILE GPU_CHECK_CONFIG=${GPU_SESSION_CONFIG:-} OUT=$RESULT \
        run_stage main 60 "$ROOT/results/gpu_check/gpu_check.txt" bash benchmarks/gpu_check.sh "$WHEELS" "$DATA"
      ;;
    determinism)  # compares with the main job's models: only after it
      if [ ! -f "$STATE/main.done" ]; then
        say "--- determinism: not started (the main job is not done)"
      else (tools_env determinism && run_stage determinism 120 "" bash benchmarks/gpu_determinism.sh "$PROFILE" \
        "data_mirror=$MIRROR" "training={backend: jax}" ${CONFIG[@]+"${CONFIG[@]}"}); fi
      ;;
    flags)
      (tools_env flags && run_stage flags 60 "$STATE/flags/xla_flags.md" \
        python3 benchmarks/xla_flags.py "${FLAGS[@]}" --out "$STATE/flags")
      ;;
    gap)
      (tools_env gap && run_stage gap 60 "" python3 benchmarks/accuracy_gap.py "${GAP[@]}")
      ;;
    *) say "--- $stage: unknown stage (main, determinism, flags, gap)" ;;
  esac
  [ -f "$STATE/$stage.done" ] || pending=1
done
finish
[ "$pending" = 0 ] || exit 3
