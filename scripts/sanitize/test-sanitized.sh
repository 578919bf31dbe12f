#!/usr/bin/env bash
# The addon under AddressSanitizer + UndefinedBehaviorSanitizer (docs/reliability.md#sanitizers): builds it into
# build-sanitize/ (CPU backend only, without the SIMDe-emulated test path whose compile alone takes minutes;
# MS4_SANITIZE=address,undefined, GCC's or Clang's runtime), then runs the native
# tests against it with the sanitizer runtime preloaded, the way Node.js addons are run under ASan (Node.js itself is
# not instrumented). Every finding stops the test process and fails the run.
# Usage: bash scripts/sanitize/test-sanitized.sh [test files...]   (default: the files below)
set -euo pipefail
cd "$(dirname "$0")/../.."
out="$PWD/build-sanitize"

node --input-type=module -e "
  import { buildFromSource } from './scripts/build-native.mjs';
  process.exit(buildFromSource({ root: process.cwd(), outDir: process.argv[1], cuda: 'OFF', emulated: 'OFF', sanitize: 'address,undefined' }));
" "$out"
addon="$out/Release/mistral4.node"

# The ASan runtime the addon was linked against (libasan.so.N from GCC, libclang_rt.asan from Clang).
runtime="$(ldd "$addon" | awk '/libasan|libclang_rt\.asan/ { print $3; exit }')"
if [ -z "$runtime" ] || [ ! -f "$runtime" ]; then
  echo "the sanitized addon links no shared ASan runtime (ldd $addon); build it with GCC, or Clang with -shared-libasan" >&2
  exit 1
fi
echo "sanitized addon: $addon"
echo "preloaded runtime: $runtime"

files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  files=(
    test/native/op-checks.test.ts
    test/native/model-checks.test.ts
    test/native/sampler.test.ts
    test/native/step-validation.test.ts
    test/native/cuda-layout-checks.test.ts
    test/forward
    test/checkpoint/changed-under-load.test.ts
  )
fi

# detect_leaks=0: Node.js keeps allocations alive to its exit; allocator_may_return_null=1: a failed huge allocation
# is std::bad_alloc, as without ASan (the memory-refusal tests rely on it).
export ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:abort_on_error=1:halt_on_error=1:detect_stack_use_after_return=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export MS4_ADDON_PATH="$addon"
LD_PRELOAD="$runtime" node node_modules/vitest/vitest.mjs run "${files[@]}"
