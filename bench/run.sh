#!/usr/bin/env bash
# Benchmark nefsim against Nengo's reference simulator on the same models.
# See bench/README.md. Each model runs in its own fresh process per engine.
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
ALL_MODELS=(channel squaring oscillator circconv16 circconv64 circconv256 integrators10 integrators100 integrators1000 convlayer sparse)
QUICK_MODELS=(channel squaring oscillator circconv16 integrators10 integrators100)

usage() {
  cat <<EOF
usage: bench/run.sh [--quick] [--models a,b] [--sim-seconds S] [--dt DT]
                    [--only nefsim|nengo] [--float32] [--timeout SECONDS]
                    [--repeats N] [--node-defaults]

  --quick          models ${QUICK_MODELS[*]}, 0.2 s simulated
  --models a,b     any of: ${ALL_MODELS[*]}
  --sim-seconds S  simulated time per model (default 1.0; 0.2 with --quick)
  --dt DT          time step in seconds (default 0.001)
  --only ENGINE    run only nefsim or only nengo
  --float32        run nefsim in single precision
  --timeout S      wall-clock limit per model process (default 1800)
  --repeats N      run every model N times, the engines alternating, each round
                   with fresh decoder caches; the table shows medians (default 1)
  --node-defaults  run nefsim with Node's default flags, not the ones nefsim's
                   run processes get (ENGINE_NODE_FLAGS: a 1 MB young generation)
EOF
}

die() { echo "bench/run.sh: $*" >&2; exit 2; }

quick=0 models='' sim_seconds='' dt=0.001 only='' float32='' timeout_s=1800 repeats=1 node_defaults=0
while (($#)); do
  case $1 in
    --quick) quick=1 ;;
    --models) models=${2:?--models needs a value}; shift ;;
    --models=*) models=${1#*=} ;;
    --sim-seconds) sim_seconds=${2:?--sim-seconds needs a value}; shift ;;
    --sim-seconds=*) sim_seconds=${1#*=} ;;
    --dt) dt=${2:?--dt needs a value}; shift ;;
    --dt=*) dt=${1#*=} ;;
    --only) only=${2:?--only needs a value}; shift ;;
    --only=*) only=${1#*=} ;;
    --float32) float32=--float32 ;;
    --timeout) timeout_s=${2:?--timeout needs a value}; shift ;;
    --timeout=*) timeout_s=${1#*=} ;;
    --repeats) repeats=${2:?--repeats needs a value}; shift ;;
    --repeats=*) repeats=${1#*=} ;;
    --node-defaults) node_defaults=1 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
  shift
done

case $only in '' | nefsim | nengo) ;; *) die "--only must be nefsim or nengo, not '$only'" ;; esac
[[ $repeats =~ ^[1-9][0-9]*$ ]] || die "--repeats must be a positive whole number, not '$repeats'"
if [[ -z $sim_seconds ]]; then
  if ((quick)); then sim_seconds=0.2; else sim_seconds=1.0; fi
fi
if [[ -n $models ]]; then
  IFS=, read -r -a selected <<<"$models"
  for m in "${selected[@]}"; do
    [[ " ${ALL_MODELS[*]} " == *" $m "* ]] || die "unknown model '$m' (known: ${ALL_MODELS[*]})"
  done
elif ((quick)); then
  selected=("${QUICK_MODELS[@]}")
else
  selected=("${ALL_MODELS[@]}")
fi

stamp=$(date +%Y%m%d-%H%M%S)
results="$BENCH/results"
logs="$results/logs/$stamp"
mkdir -p "$logs"
raw="$results/$stamp.jsonl"
: >"$raw"

# --- Nengo: a venv of its own, with the machine's python3 -------------------
if [[ $only != nefsim ]]; then
  py="$BENCH/.venv/bin/python"
  if ! "$py" -c pass 2>/dev/null; then
    echo "creating bench/.venv" >&2
    rm -rf "$BENCH/.venv"
    python3 -m venv "$BENCH/.venv"
  fi
  # SciPy too: Nengo's optimiser and its sparse encoders use it, and users have it.
  if ! "$py" -c 'import nengo, numpy, scipy' 2>/dev/null; then
    echo "installing nengo, numpy and scipy into bench/.venv" >&2
    "$py" -m pip install --quiet --disable-pip-version-check 'nengo==4.1.*' numpy scipy
  fi
fi

# --- nefsim: build the TypeScript package -----------------------------------
nefsim_error=''
if [[ $only != nengo ]]; then
  echo "building nefsim (log: bench/results/logs/$stamp/build.log)" >&2
  if ! (
    cd "$ROOT"
    [[ -d node_modules ]] || npm ci
    npm run build --workspace nefsim
  ) >"$logs/build.log" 2>&1; then
    nefsim_error="build failed: $(grep -m1 'error TS' "$logs/build.log" || echo "see bench/results/logs/$stamp/build.log")"
    echo "bench/run.sh: nefsim $nefsim_error" >&2
  fi
fi

# The nefsim side runs with the Node flags that nefsim gives the processes that build and run
# models (nefsim run, its trial workers, Slurm jobs), so that its figures are what a run costs.
nefsim_node_flags=()
if [[ $only != nengo && -z $nefsim_error ]] && ((!node_defaults)); then
  read -r -a nefsim_node_flags < <(cd "$ROOT" && node --input-type=module -e \
    "const m = await import('./kernel-service/lib/engine/node-flags.js'); console.log(m.ENGINE_NODE_FLAGS.join(' '))")
  echo "nefsim runs with: node ${nefsim_node_flags[*]}" >&2
fi

# One line of JSON for a failed process.
error_line() { # round engine model message
  node -e 'const [r, e, m, msg] = process.argv.slice(1); console.log(JSON.stringify({ round: Number(r), engine: e, model: m, error: msg }))' "$@"
}

# The gist of a failure: the first line that names an error, else the last line.
error_summary() { # stderr-file exit-code
  local msg
  msg=$(grep -m1 -E '^[A-Za-z_.]*(Error|Exception)( \[[A-Z_]+\])?: ' "$1" || true)
  [[ -n $msg ]] || msg=$(grep -v -E '^\s*$|^Node\.js v' "$1" | tail -n1 || true)
  if [[ $2 == 124 || $2 == 137 ]]; then msg="timed out after ${timeout_s} s"; fi
  [[ -n $msg ]] || msg="exit code $2"
  msg=$(sed -E 's/^[[:space:]]+//' <<<"$msg")
  echo "${msg:0:160}"
}

# Each engine's decoder cache: fresh for each round of this bench run, so a model's first build is
# cold and the --build-only build right after it finds its decoders cached (as a user's second
# build would).
run_one() { # round engine model [--build-only]
  local round=$1 engine=$2 model=$3 extra=${4:-} out rc line
  local tag="$engine-$model${extra:+-cached}"
  ((repeats == 1)) || tag+="-$round"
  local log="$logs/$tag.log"
  local suffix=''
  ((repeats == 1)) || suffix="-$round"
  local nengo_cache="$logs/nengo-decoder-cache$suffix" nefsim_cache="$logs/nefsim-decoder-cache$suffix"
  local -a cmd
  if [[ $engine == nengo ]]; then
    cmd=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE NENGO_DECODER_CACHE_DIR="$nengo_cache" "$BENCH/.venv/bin/python" "$BENCH/nengo_model.py" "$model" "$sim_seconds" "$dt" $extra)
  else
    if [[ -n $nefsim_error ]]; then
      error_line "$round" nefsim "$model" "$nefsim_error" >>"$raw"
      return
    fi
    cmd=(env NEFSIM_CACHE_DIR="$nefsim_cache" NEFSIM_DECODER_CACHE=1 node "${nefsim_node_flags[@]}" "$BENCH/nefsim-model.mjs" "$model" "$sim_seconds" "$dt" $float32 $extra)
  fi
  rc=0
  out=$(timeout --kill-after=10 "$timeout_s" "${cmd[@]}" 2>"$log") || rc=$?
  line=$(grep '^{' <<<"$out" | tail -n1 || true)
  if ((rc == 0)) && [[ -n $line ]]; then
    echo "{\"round\":$round,${line#\{}" >>"$raw"
    echo "  $engine${extra:+ (build, decoders cached)}: ok" >&2
  else
    [[ -n $extra ]] || error_line "$round" "$engine" "$model" "$(error_summary "$log" "$rc")" >>"$raw"
    echo "  $engine: FAILED (log: bench/results/logs/$stamp/$tag.log)" >&2
  fi
}

echo "running ${#selected[@]} model(s), ${sim_seconds} s simulated, dt ${dt}, ${repeats} round(s) each" >&2
for model in "${selected[@]}"; do
  for ((round = 1; round <= repeats; round++)); do
    if ((repeats > 1)); then echo "$model (round $round of $repeats)" >&2; else echo "$model" >&2; fi
    [[ $only == nefsim ]] || run_one "$round" nengo "$model"
    [[ $only == nengo ]] || run_one "$round" nefsim "$model"
    [[ $only == nefsim ]] || run_one "$round" nengo "$model" --build-only
    [[ $only == nengo ]] || run_one "$round" nefsim "$model" --build-only
  done
done

echo >&2
models_csv=$(IFS=,; echo "${selected[*]}")
node "$BENCH/report.mjs" "$raw" "$results/$stamp" "$sim_seconds" "$dt" "$models_csv"
cp "$results/$stamp.md" "$results/latest.md"
cp "$results/$stamp.json" "$results/latest.json"
echo "wrote bench/results/$stamp.md and bench/results/$stamp.json" >&2
