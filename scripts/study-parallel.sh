#!/usr/bin/env bash
# Scale-out of `glassbox study` with GNU parallel on one machine (README "Scale-out"): every (method, seed) unit runs
# as its own process (`study --only M --seed S --out PART`), then `study merge` builds one report from the parts.
# The same two commands fan out over a Slurm array or Kubernetes Jobs: each task runs one `study --only` line.
#
#   scripts/study-parallel.sh [MODEL] [OUT] [METHODS] [SEEDS] [JOBS]
#   defaults: models/tiny-chat  study-parallel  "int8 wanda-50"  "1 2"  2
#
# The profile is small (16 train / 8 val / 8 test prompts per class, 16 new tokens) so that the example runs in a
# few minutes on 2 cores; drop those flags for the real study. Needs `npm run build` (dist/cli.js) and GNU parallel
# (Debian: apt-get install parallel).
set -euo pipefail
MODEL=${1:-models/tiny-chat}
OUT=${2:-study-parallel}
METHODS=${3:-int8 wanda-50}
SEEDS=${4:-1 2}
JOBS=${5:-2}
HERE=$(cd "$(dirname "$0")/.." && pwd)
CLI="node $HERE/dist/cli.js"
command -v parallel >/dev/null || { echo "study-parallel: GNU parallel is not installed (apt-get install parallel)" >&2; exit 1; }
[ -f "$HERE/dist/cli.js" ] || { echo "study-parallel: $HERE/dist/cli.js is missing (npm run build)" >&2; exit 1; }
PROFILE="--max-layer-fraction 1.0 --n-train 16 --n-val 8 --n-test 8 --max-tokens 16 --n-calibration 4 --bootstrap 200"
mkdir -p "$OUT/parts"
start=$(date +%s)
# One process per (method, seed); --halt now,fail=1 stops the batch at the first failing unit.
# shellcheck disable=SC2086
parallel --jobs "$JOBS" --halt now,fail=1 --joblog "$OUT/joblog.tsv" \
  $CLI study "$MODEL" --only {1} --seed {2} --out "$OUT/parts/{1}-{2}" $PROFILE ">" "$OUT/parts/{1}-{2}.log" "2>&1" \
  ::: $METHODS ::: $SEEDS
$CLI study merge "$OUT"/parts/*/ --out "$OUT/report"
echo "study-parallel: $(($(date +%s) - start)) s wall for $(echo $METHODS | wc -w) method(s) x $(echo $SEEDS | wc -w) seed(s), $JOBS job(s); report in $OUT/report (per-unit times: $OUT/joblog.tsv)"
