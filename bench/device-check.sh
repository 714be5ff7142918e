#!/usr/bin/env bash
# One short, prepared run on a lent GPU machine (< 8 minutes; node 20, no node_modules there):
#   here:    node bench/device-prepare.mjs          # bundles into bench/device/ (gitignored, ~26 MB)
#   device:  bash bench/device-check.sh             # carry bench/device; results come back under $OUT
# Steps (each with its own timeout; a failing step is recorded and the next one still runs):
#   1. gpu.js per-op webgpu checks (bench/webgpu-check.ts)                                   <= 60 s
#   2. resident model checks: tiny-chat golden logits + greedy completions, one submit per
#      step, ablation/addition/patching kernels vs the reference (bench/webgpu-resident-check.ts) <= 90 s
#   3. resident matvec (decode, T = 1) and tiled GEMM (prefill, T = 128) timings, f32/int8/int4
#      (bench/webgpu-matvec.ts)                                                               <= 60 s
#   4. decode bench, tiny-chat + Qwen2.5-0.5B-shaped synthetic, int8/int4 (bench/decode.ts)  <= 150 s
#   5. direction pipeline on the 0.5B-shaped synthetic model, 32/32 prompts (bench/direction.ts) <= 100 s
# Writes bench/results/<gpu>-{webgpu-check,resident-check,matvec,decode,direction,summary}.json (<gpu> from
# nvidia-smi, else the WebGPU adapter name) and copies them to $OUT when set.
# GLASSBOX_DEVICE_CHECK_TINY=1: the same steps with tiny shapes (a dry run on SwiftShader: tiny-chat instead of the
# 0.5B shape, short prompts), writing bench/results/dry-run/ instead; its timings are CPU numbers, not GPU ones.
set -u
cd "$(dirname "$0")/.."
D=bench/device
if [ ! -f "$D/decode.mjs" ]; then echo "bench/device missing: run 'node bench/device-prepare.mjs' first and carry bench/device" >&2; exit 2; fi
# SwiftShader is never used here unless no GPU answers (then the results say so in their "adapter" fields).
export GLASSBOX_REQUIRE_WEBGPU=1
name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
[ -n "$name" ] || name=$(timeout 60 node "$D/webgpu-matvec.mjs" --shapes 1x64x64 --formats f32 --reps 1 --runs 1 2>/dev/null | sed -n 's/.*"adapter":"\([^"]*\)".*/\1/p')
GPU=$(echo "${name:-gpu}" | tr 'A-Z' 'a-z' | sed 's/nvidia //; s/[^a-z0-9]\+/-/g; s/^-//; s/-$//')
R=bench/results
MATVEC=(--reps 50 --runs 5)
DECODE=(--models tiny-chat,qwen0.5b --precisions int8,int4 --prompt 64 --tokens 64)
DIRECTION=(--synthetic qwen0.5b --n-train 32 --n-val 32)
X=1 # timeout multiplier: SwiftShader runs the checks on the CPU
if [ "${GLASSBOX_DEVICE_CHECK_TINY:-}" = 1 ]; then
  X=4
  R=bench/results/dry-run
  MATVEC=(--shapes 1x64x96,40x64x96 --reps 2 --runs 1)
  DECODE=(--models tiny-chat --precisions int8,int4 --prompt 16 --tokens 8)
  DIRECTION=(--n-train 4 --n-val 2 --max-layer-fraction 0.5) # layers 1-2 scored: the plumbing, not the selection
fi
mkdir -p "$R"
summary="["
step() { # name timeout_s command...
  local n=$1 t=$2; shift 2
  local s0=$(date +%s)
  timeout "$t" "$@" > "$R/$GPU-$n.json" 2> "$R/$GPU-$n.log"
  local rc=$? s1=$(date +%s)
  echo "$n: exit $rc in $((s1 - s0)) s" >&2
  summary="$summary{\"step\":\"$n\",\"exit\":$rc,\"seconds\":$((s1 - s0))},"
}
step webgpu-check $((60 * X)) node "$D/webgpu-check.mjs" --calls 5
step resident-check $((90 * X)) node "$D/webgpu-resident-check.mjs"
step matvec $((60 * X)) node "$D/webgpu-matvec.mjs" "${MATVEC[@]}"
step decode $((150 * X)) node "$D/decode.mjs" --json --backend webgpu "${DECODE[@]}"
step direction $((100 * X)) node "$D/direction.mjs" --backend webgpu "${DIRECTION[@]}"
echo "${summary%,}]" > "$R/$GPU-summary.json"
cat "$R/$GPU-summary.json"
if [ -n "${OUT:-}" ]; then cp "$R/$GPU"-* "$OUT"/; fi
