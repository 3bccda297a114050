#!/usr/bin/env bash
# One prepared GPU run, under 9 minutes on one H100/H200, with only stock packages (torch, torchvision,
# numpy, safetensors, tqdm): CUDA smoke test of the four models, training-throughput bench, then
# `python -m fer reproduce` with a time budget per model. Every result goes to one folder.
#
#   bash tools/gpu_run.sh [--dry-run] [--out DIR] [--data PACKED_FILE_OR_DIR] [--export DIR]
#
# --export DIR: copy what a lent GPU machine may bring back (at most 8 files) there: results.tar.gz
# (every log.jsonl, metrics.json, results.md/json, smoke and throughput JSON), gpu_run.log and the fp16
# Conv-cut checkpoint with its metrics and predictions. On the device tool: --export "$OUT".
# --data: the file `python tools/pack_data.py pack ../shared/data/fer2013 .gpu/fer2013.pack` wrote (carried
# to the GPU machine in an ignored folder: never committed), or a directory of train.npz/publictest.npz.
# --dry-run: the same steps on CPU at tiny sizes on generated data (the test suite runs it).
# Budgets (minutes of training per model) and the smoke test's settings can be changed by environment:
# BUDGET_RESEMOTENET BUDGET_CONVCUT BUDGET_PSA BUDGET_UNET SMOKE_STEPS SMOKE_BATCH.
set -euo pipefail
cd "$(dirname "$0")/.."

DRY_RUN=0
OUT_DIR="${OUT:-gpu-run}"
DATA=".gpu/fer2013.pack"
EXPORT=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --out) OUT_DIR="$2"; shift ;;
    --data) DATA="$2"; shift ;;
    --export) EXPORT="$2"; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"
PY="${PYTHON:-python3}"
export PYTHONUNBUFFERED=1 OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
LOG="$OUT_DIR/gpu_run.log"
START=$(date +%s)
stage() { echo "== [$(( $(date +%s) - START ))s] $*" | tee -a "$LOG"; }

stage "environment"
{
  $PY -c "import sys, torch, torchvision; print('python', sys.version.split()[0], 'torch', torch.__version__, 'torchvision', torchvision.__version__, 'cuda', torch.version.cuda, 'gpu', torch.cuda.get_device_name() if torch.cuda.is_available() else None)"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
} 2>&1 | tee "$OUT_DIR/environment.txt" | tee -a "$LOG"

if [[ $DRY_RUN == 1 ]]; then
  DEVICE=cpu
  SMOKE_ARGS=(--device cpu --steps 2 --batch-size 4 --img-size 64 --no-compile)
  COMPILE_CHECK=(--device cpu --steps 2 --batch-size 4 --img-size 64 --models convcut --compile-backend eager)
  BENCH_ARGS=(--device cpu --models convcut --steps 1 --rounds 1 --batch-size 4 --workers 0)
  REPRODUCE_ARGS=(--quick --device cpu)
  DATA_DIR=""
else
  DEVICE=cuda
  SMOKE_ARGS=(--device cuda --steps "${SMOKE_STEPS:-20}" --batch-size "${SMOKE_BATCH:-64}")
  COMPILE_CHECK=()
  BENCH_ARGS=(--device cuda --models resemotenet,convcut --steps 10 --rounds 3 --batch-size 64 --workers 8 --amp)
  if [[ -f "$DATA" ]]; then
    DATA_DIR="$(mktemp -d)/fer2013"
    stage "unpacking $DATA"
    $PY tools/pack_data.py unpack "$DATA" "$DATA_DIR" | tee -a "$LOG"
  else
    DATA_DIR="$DATA"
  fi
  REPRODUCE_ARGS=(--data "$DATA_DIR" --device cuda --amp)
  BENCH_ARGS+=(--data "$DATA_DIR")
fi

stage "1. CUDA smoke test: every model, AMP, channels_last, torch.compile"
$PY bench/cuda_smoke.py "${SMOKE_ARGS[@]}" --json "$OUT_DIR/smoke.json" 2>&1 | tee -a "$LOG" || echo "smoke test failed (see log)" | tee -a "$LOG"
if [[ ${#COMPILE_CHECK[@]} -gt 0 ]]; then
  $PY bench/cuda_smoke.py "${COMPILE_CHECK[@]}" --json "$OUT_DIR/smoke_compile.json" 2>&1 | tee -a "$LOG"
fi

stage "2. training throughput: our tensor pipeline vs a per-sample PIL DataLoader"
$PY bench/train_throughput.py "${BENCH_ARGS[@]}" --json "$OUT_DIR/throughput.json" 2>&1 | tee -a "$LOG" || echo "throughput bench failed" | tee -a "$LOG"

stage "3. reproduce, one model at a time with its budget (priority order)"
for entry in "resemotenet:${BUDGET_RESEMOTENET:-1.75}" "convcut:${BUDGET_CONVCUT:-1.25}" \
             "psa_resnet50:${BUDGET_PSA:-0.5}" "unet_eca_resnet34:${BUDGET_UNET:-0.5}"; do
  model="${entry%%:*}"; budget="${entry##*:}"
  stage "reproduce $model (budget $budget min)"
  $PY -m fer reproduce "${REPRODUCE_ARGS[@]}" --models "$model" --time-budget-per-model "$budget" \
      --out "$OUT_DIR/reproduce" --no-progress 2>&1 | tee -a "$LOG" || echo "reproduce $model failed" | tee -a "$LOG"
done

stage "4. the Conv-cut checkpoint in fp16 for the repository"
if [[ -f "$OUT_DIR/reproduce/convcut/model.safetensors" ]]; then
  $PY -c "from fer.publish import half_precision_copy as h; import sys; print(h(sys.argv[1], sys.argv[2]))" \
      "$OUT_DIR/reproduce/convcut" "$OUT_DIR/convcut_fp16" 2>&1 | tee -a "$LOG"
fi

stage "5. bundling results (logs, metrics, results.md/json; no predictions of dataset faces)"
# Written beside, then moved in: tar fails on a folder that changes while it reads it.
(cd "$OUT_DIR" && tar -czf "$OUT_DIR.results.tar.gz" --exclude='*.pt' --exclude='*.npz' --exclude='*.safetensors' \
    --exclude='results.tar.gz' --exclude='gpu_run.log' . && mv "$OUT_DIR.results.tar.gz" results.tar.gz)
if [[ -n "$EXPORT" ]]; then
  mkdir -p "$EXPORT"
  cp "$OUT_DIR/results.tar.gz" "$EXPORT/"
  [[ -d "$OUT_DIR/convcut_fp16" ]] && cp -r "$OUT_DIR/convcut_fp16" "$EXPORT/"
fi
stage "done"
ls -la "$OUT_DIR" | tee -a "$LOG"
[[ -n "$EXPORT" ]] && cp "$LOG" "$EXPORT/"
exit 0
