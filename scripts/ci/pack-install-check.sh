#!/usr/bin/env bash
# Packs mistral4-runtime and installs the tarball into fresh projects, as a backend or an Electron app does
# (npm's default hoisted layout), then runs the same applications the tests bundle, now against the installed
# package: generate from ESM and from CommonJS, a worker_thread terminated mid-generation, the Electron example's
# model host, `npx ms4 info`. Run it after `npm ci` in a checkout:
#
#   scripts/ci/pack-install-check.sh [all|source|prebuilt]
#
#   source    no prebuilt package (npm install --omit=optional): the install script compiles the addon,
#             once with cmake on PATH (cmake-js), once without (node-gyp); then `npm rebuild mistral4-runtime`.
#   prebuilt  the prebuilt platform package (npm run pack:prebuilt) on a PATH with no C/C++ compiler and no cmake.
#
# The library's own packages never come from the network: the tarballs are local files and the platform
# package is pinned to its local tarball with `overrides`. Dependencies (cmake-js, node-addon-api) come from the
# npm registry or npm's cache. Prints the packed sizes and each install's time.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
jobs="${1:-all}"
case "$jobs" in all | source | prebuilt) ;; *) echo "usage: $0 [all|source|prebuilt]" >&2 && exit 2 ;; esac
work="$(mktemp -d "${TMPDIR:-/tmp}/ms4-pack-check.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export MS4_CACHE_DIR="$work/cache"
unset MS4_ADDON_PATH CXX CC MS4_BUILD_FROM_SOURCE MS4_SKIP_NATIVE_BUILD
export MS4_BUILD_JOBS="${MS4_BUILD_JOBS:-2}"

say() { echo "== $* =="; }
seconds_since() { node -e "console.log(((Date.now() - $1) / 1000).toFixed(1))"; }
now() { node -e "console.log(Date.now())"; }

# A PATH holding links to every command of the current PATH except those matching $2 (an extended regex).
path_without() {
  local dir="$work/path-$1" d f n
  mkdir -p "$dir"
  IFS=: read -ra dirs <<<"$PATH"
  for d in "${dirs[@]}"; do
    [ -d "$d" ] || continue
    for f in "$d"/*; do
      n="${f##*/}"
      [ -f "$f" ] && [ -x "$f" ] || continue
      [[ "$n" =~ $2 ]] && continue
      [ -e "$dir/$n" ] || ln -s "$f" "$dir/$n"
    done
  done
  echo "$dir"
}

# Checks the JSON object an application printed last: check_result FILE 'JS condition on r'.
check_result() {
  node -e '
    const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n");
    const r = JSON.parse(lines[lines.length - 1]);
    if (!(eval(process.argv[2]))) { console.error("unexpected result:", JSON.stringify(r)); process.exit(1); }
    console.log("  ok:", JSON.stringify(r));' "$1" "$2"
}

say "npm pack (the main tarball)"
release="$work/release"
mkdir -p "$release"
(cd "$repo" && npm pack --pack-destination "$release" >/dev/null 2>&1)
version="$(node -p "require('$repo/package.json').version")"
main_tgz="$release/mistral4-runtime-$version.tgz"
echo "  $(basename "$main_tgz"): $(stat -c %s "$main_tgz") bytes"
prebuilt_tgz=""
if [ "$jobs" != source ]; then
  say "npm run pack:prebuilt (the platform package tarball)"
  (cd "$repo" && npm run -s pack:prebuilt -- "$release" >"$work/pack-prebuilt.log" 2>&1) ||
    { cat "$work/pack-prebuilt.log"; exit 1; }
  prebuilt_tgz="$(ls "$release"/mistral4-runtime-linux-x64-gnu-*.tgz)"
  echo "  $(basename "$prebuilt_tgz"): $(stat -c %s "$prebuilt_tgz") bytes"
fi

node "$repo/scripts/ci/bundle-consumer-apps.mjs" "$work/apps"

# new_project NAME: a fresh application folder whose package.json allows mistral4-runtime's install script
# (npm 11 runs a dependency's install script only when allowed) and pins the platform package to its tarball.
new_project() {
  local dir="$work/$1"
  mkdir -p "$dir"
  node -e '
    const [dir, main, prebuilt] = process.argv.slice(1);
    const manifest = { name: "ms4-consumer", private: true, allowScripts: { "mistral4-runtime": true, [`file:${main}`]: true } };
    if (prebuilt) manifest.overrides = { "mistral4-runtime-linux-x64-gnu": `file:${prebuilt}` };
    require("fs").writeFileSync(`${dir}/package.json`, JSON.stringify(manifest, null, 2));' "$dir" "$main_tgz" "$prebuilt_tgz"
  cp -r "$work/apps" "$dir/apps"
  mkdir -p "$dir/electron-example"
  cp "$repo/examples/electron/model-host.mjs" "$repo/examples/electron/node-check.mjs" "$dir/electron-example/"
  echo "$dir"
}

# run_apps DIR PATH EXPECTED_SOURCE: the applications against the installed package.
run_apps() {
  local dir="$1" path="$2" source="$3" tiny="$work/tiny"
  cd "$dir"
  [ -d "$tiny" ] || PATH="$path" npx ms4 make-tiny "$tiny" >/dev/null
  echo "  generate from ESM"
  PATH="$path" node apps/generate-app.mjs "$tiny" >"$work/out" || { cat "$work/out"; return 1; }
  check_result "$work/out" "r.tokens > 0 && r.addon.source === '$source'"
  echo "  generate from CommonJS"
  PATH="$path" node apps/generate-app.cjs "$tiny" >"$work/out" || { cat "$work/out"; return 1; }
  check_result "$work/out" "r.tokens > 0 && r.addon.source === '$source'"
  echo "  a worker_thread generates; another is terminated mid-generation"
  PATH="$path" node apps/worker-host.mjs "$tiny" >"$work/out" || { cat "$work/out"; return 1; }
  check_result "$work/out" "r.completedTokens > 0 && r.terminatedAfterTokens === 3 && r.exitCode === 1"
  echo "  the Electron example's model host (forked as main.mjs forks it)"
  PATH="$path" node electron-example/node-check.mjs >"$work/out" || { cat "$work/out"; return 1; }
  check_result "$work/out" "r.answered.completionTokens > 0 && r.aborted.finishReason === 'abort'"
  echo "  npx ms4 info (an installed package never offers the avx512-emulated test path)"
  PATH="$path" npx ms4 info --json | node -e "
    const info = JSON.parse(require('fs').readFileSync(0, 'utf8'));
    if (info.addon.source !== '$source' || info.cpu.kernelPaths.includes('avx512-emulated')) process.exit(1);
    console.log('  ok:', info.addon.source, info.cpu.kernelPaths.join(', '));"
  cd "$repo"
}

# install DIR PATH [npm options...]: npm install the main tarball, timed.
install() {
  local dir="$1" path="$2" start
  shift 2
  start="$(now)"
  (cd "$dir" && PATH="$path" npm install --foreground-scripts --no-audit --no-fund "$@" "$main_tgz" >"$work/install.log" 2>&1) ||
    { cat "$work/install.log"; return 1; }
  grep '\[mistral4-runtime\]' "$work/install.log" | sed 's/^/  /' || true
  echo "  installed in $(seconds_since "$start") s"
}

if [ "$jobs" != prebuilt ]; then
  say "source build, cmake on PATH (no prebuilt: --omit=optional)"
  dir="$(new_project with-cmake)"
  install "$dir" "$PATH" --omit=optional
  test -f "$dir/node_modules/mistral4-runtime/build/Release/mistral4.node"
  # npm hoists cmake-js beside the package: the install script finds it the way Node.js resolves modules.
  test -d "$dir/node_modules/cmake-js" && test ! -e "$dir/node_modules/mistral4-runtime/node_modules/cmake-js"
  run_apps "$dir" "$PATH" "local build"
  say "npm rebuild mistral4-runtime"
  start="$(now)"
  (cd "$dir" && npm rebuild mistral4-runtime --foreground-scripts >"$work/rebuild.log" 2>&1) ||
    { cat "$work/rebuild.log"; exit 1; }
  grep '\[mistral4-runtime\]' "$work/rebuild.log" | sed 's/^/  /'
  grep -q "native addon built" "$work/rebuild.log"
  echo "  rebuilt in $(seconds_since "$start") s"

  say "source build, no cmake on PATH (node-gyp)"
  no_cmake="$(path_without no-cmake '^(cmake|ctest|cpack)$')"
  ! PATH="$no_cmake" command -v cmake >/dev/null
  dir="$(new_project without-cmake)"
  install "$dir" "$no_cmake" --omit=optional
  grep -q "building with node-gyp" "$work/install.log"
  run_apps "$dir" "$no_cmake" "local build"
fi

if [ "$jobs" != source ]; then
  say "prebuilt package, no C/C++ compiler and no cmake on PATH"
  bare="$(path_without bare '^(cmake|ctest|cpack|c\+\+|cc|gcc.*|g\+\+.*|clang.*|cpp.*|x86_64-linux-gnu-.*|c89|c99|make|nvcc)$')"
  for tool in cmake c++ g++ gcc cc clang++ make; do ! PATH="$bare" command -v "$tool" >/dev/null; done
  dir="$(new_project prebuilt)"
  install "$dir" "$bare"
  test -d "$dir/node_modules/mistral4-runtime-linux-x64-gnu" && test ! -e "$dir/node_modules/mistral4-runtime/build"
  run_apps "$dir" "$bare" "prebuilt package"
fi
say "pack-install check passed ($jobs)"
