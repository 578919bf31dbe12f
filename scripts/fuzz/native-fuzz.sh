#!/usr/bin/env bash
# libFuzzer targets of the native code (native/fuzz/, docs/reliability.md#native-fuzzing):
#   step     the checks of a step that crosses the binding (native/fuzz/step_checks_fuzz.cc)
#   mapping  checkpoint mapping, tensor ranges, weight sources and repacking (native/fuzz/checkpoint_mapping_fuzz.cc)
# Builds them with clang (-fsanitize=fuzzer,address,undefined) into build-fuzz/ and runs one or both; extra arguments
# go to libFuzzer (default: -max_total_time=60). Corpora are kept in build-fuzz/corpus-<target>/, crashes in
# build-fuzz/ (move a fixed one into native/fuzz/regressions/<target>/). Needs clang with its runtime libraries (Debian 12: apt-get install clang-14 libclang-rt-14-dev).
# Usage: bash scripts/fuzz/native-fuzz.sh step|mapping|all [libFuzzer args, e.g. -runs=1000000]
set -euo pipefail
cd "$(dirname "$0")/../.."
target="${1:-all}"
shift || true
args=("$@")
[ ${#args[@]} -eq 0 ] && args=(-max_total_time=60)

cxx="${FUZZ_CXX:-$(command -v clang++ || command -v clang++-14 || true)}"
if [ -z "$cxx" ]; then
  echo "clang++ not found: install clang and its runtime libraries (Debian 12: apt-get install clang-14 libclang-rt-14-dev)" >&2
  exit 1
fi
out="$PWD/build-fuzz"
mkdir -p "$out/obj"
flags=(-std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined
  -fno-sanitize-recover=all -Inative -DMS4_NO_EMULATED_KERNELS=1 -pthread)

# Objects are rebuilt only when their source is newer (headers: delete build-fuzz/obj to force).
compile() {
  local src="$1" obj="$out/obj/${1//\//_}.o"
  if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ]; then
    echo "  compiling $src" >&2
    "$cxx" "${flags[@]}" -c "$src" -o "$obj"
  fi
  echo "$obj"
}

link() {
  local name="$1"
  shift
  local objs=()
  for src in "$@"; do objs+=("$(compile "$src")"); done
  "$cxx" "${flags[@]}" -fsanitize=fuzzer "${objs[@]}" -o "$out/$name"
}

# The core sources without the Node bindings, the op checks and the CUDA layout checks (the mapping target repacks
# weights on the CPU backend, so it needs the whole core).
core=()
while IFS= read -r line; do
  case "$line" in
    '#'* | '' | native/napi/* | native/addon.cc | native/checks/* | cuda/*) ;;
    *) core+=("$line") ;;
  esac
done < native/sources.txt

# The inputs of past findings (native/fuzz/regressions/<target>/) seed every run, so a regression shows at once.
run() {
  local name="$1" seeds=()
  [ -d "native/fuzz/regressions/$name" ] && seeds=("$PWD/native/fuzz/regressions/$name")
  mkdir -p "$out/corpus-$name"
  echo "== fuzzing $name: ${args[*]} ==" >&2
  (cd "$out" && "./$name-fuzz" "corpus-$name" "${seeds[@]}" "${args[@]}")
}

case "$target" in
  step | all)
    link step-fuzz native/fuzz/step_checks_fuzz.cc native/backend/input_checks.cc
    ;;&
  mapping | all)
    link mapping-fuzz native/fuzz/checkpoint_mapping_fuzz.cc "${core[@]}"
    ;;&
  step | mapping | all) ;;
  *)
    echo "usage: $0 step|mapping|all [libFuzzer args]" >&2
    exit 2
    ;;
esac
case "$target" in
  step) run step ;;
  mapping) run mapping ;;
  all) run step && run mapping ;;
esac
