#!/usr/bin/env bash
# The prepared GPU check (issue 16): install the carried wheels, then run benchmarks/gpu_check.py under a
# hard limit (8 minutes; 500 s for the dry run, on a loaded shared CPU). Results: gpu_check.json, gpu_check.md and the log in $OUT
# (or --out DIR, else ./gpu-check); the table is printed at the end, also when the limit stops the run.
#   bash benchmarks/gpu_check.sh             # GPU machine: the device tool's run, with carry ["gpu-wheels"]
#   bash benchmarks/gpu_check.sh --dry-run   # a CPU, small shapes; tests/test_gpu_check.py runs it in CI
# Extra flags go to gpu_check.py (e.g. --bandwidth-gbs 4300). `make gpu-wheels` fills gpu-wheels/.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
WHEELS=${GPU_WHEELS:-gpu-wheels}
OUTDIR=${OUT:-gpu-check}
DRY=0
prev=""
for arg in "$@"; do
  [ "$arg" = "--dry-run" ] && DRY=1
  [ "$prev" = "--out" ] && OUTDIR=$arg
  prev=$arg
done
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1

# The wheels the GPU machine lacks (bitsandbytes, TRL, datasets, DeepSpeed...): into a folder on PYTHONPATH.
if compgen -G "$WHEELS/*.whl" >/dev/null; then
  if [ "$DRY" = 1 ]; then
    echo "dry run: the installed packages serve; would install: $(cd "$WHEELS" && ls ./*.whl | tr '\n' ' ')"
  else
    SITE=${GPU_CHECK_SITE:-/tmp/gpu-check-site}
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" \
      "$WHEELS"/*.whl || { echo "error: could not install the wheels in $WHEELS/"; exit 1; }
    export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}" GPU_CHECK_SITE="$SITE" PATH="$SITE/bin:$PATH"
  fi
else
  echo "no wheels in $WHEELS/ (make gpu-wheels): using the installed packages"
fi
# ../shared does not travel to the GPU machine: make gpu-wheels carries the SFT dialogues the benchmarks read.
if [ -z "${MEDCHAT_SHARED_DATA:-}" ] && [ ! -d ../shared/data/medicalgpt ] && [ -d "$WHEELS/data/medicalgpt" ]; then
  export MEDCHAT_SHARED_DATA="$PWD/$WHEELS/data"
fi

mkdir -p "$OUTDIR"
if [ "$DRY" = 1 ]; then LIMIT=${GPU_CHECK_LIMIT_S:-500}; else LIMIT=${GPU_CHECK_LIMIT_S:-480}; fi
timeout -k 10 "$LIMIT" "$PY" benchmarks/gpu_check.py --out "$OUTDIR" "$@" 2>&1 | tee "$OUTDIR/gpu_check.log"
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ] && [ -f "$OUTDIR/gpu_check.json" ]; then
  echo "gpu_check.py stopped (exit $rc, limit $LIMIT s): what it had measured:"
  "$PY" benchmarks/gpu_check.py --report "$OUTDIR/gpu_check.json"
fi
exit "$rc"
