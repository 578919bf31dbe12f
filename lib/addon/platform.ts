/**
 * Which prebuilt package serves this machine. Names follow @napi-rs/cli's platform keys (the tool that lays out
 * and versions the per-platform packages, see scripts/release/): `mistral4-runtime-<key>` holds
 * `mistral4.<key>.node`, e.g. `mistral4-runtime-linux-x64-gnu`. scripts/native/platform.mjs computes the same
 * names for the install script; test/addon/platform.test.ts keeps the two in step.
 */

export const PACKAGE_NAME = "mistral4-runtime";

let libcCache: "gnu" | "musl" | undefined;

/** "gnu" for glibc, "musl" for musl (Alpine); read from Node's own diagnostic report, as napi-rs does. */
function detectLibc(): "gnu" | "musl" {
  if (libcCache === undefined) {
    const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
    libcCache = report?.header?.glibcVersionRuntime ? "gnu" : "musl";
  }
  return libcCache;
}

/** The platform key of this process: linux-x64-gnu, linux-arm64-musl, darwin-arm64, win32-x64-msvc, ... */
export function platformKey(platform: string = process.platform, arch: string = process.arch): string {
  if (platform === "linux") return `linux-${arch}-${detectLibc()}`;
  if (platform === "win32") return `win32-${arch}-msvc`;
  return `${platform}-${arch}`;
}

export function prebuiltPackageName(key: string = platformKey()): string {
  return `${PACKAGE_NAME}-${key}`;
}

export function prebuiltFileName(key: string = platformKey()): string {
  return `mistral4.${key}.node`;
}

/** Platforms with a published prebuilt package (package.json `napi.targets`, checked by a test). */
export const PREBUILT_KEYS: readonly string[] = ["linux-x64-gnu"];
