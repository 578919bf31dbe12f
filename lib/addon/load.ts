/**
 * Finds and loads the native addon, once per process. Order: a path the application gives
 * (`Model.load` option `addonPath`, then `setNativeAddonPath()`, then `MS4_ADDON_PATH`), else the prebuilt
 * platform package (test-loaded in a child process first), else a local build in `build/Release`. When none
 * is usable the NativeAddonError says what was tried and what to install.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { InvalidArgumentError, NativeAddonError } from "../errors";
import type { NativeBinding } from "../native";
import { PACKAGE_NAME, PREBUILT_KEYS, platformKey, prebuiltPackageName } from "./platform";
import { probeAddon, resetProbeCache } from "./probe";

/** Bumped together with kAbiVersion in native/addon.cc whenever the binding changes shape. */
export const EXPECTED_ABI_VERSION = 4;

/** Where the loaded addon came from. */
export type AddonSource =
  | "options.addonPath"
  | "setNativeAddonPath()"
  | "MS4_ADDON_PATH"
  | "prebuilt package"
  | "local build";

export interface AddonInfo {
  /** The `.node` file this process loaded. */
  path: string;
  source: AddonSource;
}

const POINT_AT_IT =
  "setNativeAddonPath(path), the Model.load option addonPath, or the MS4_ADDON_PATH environment variable";

let loaded: { binding: NativeBinding; info: AddonInfo } | undefined;
let configuredPath: string | undefined;

/**
 * Tells the library where the addon binary is, for applications whose bundler or packager moves files
 * (esbuild, webpack, Electron asar). Call it before the first `Model.load()` or `systemInfo()`; the
 * `Model.load` option `addonPath` does the same per call, and `MS4_ADDON_PATH` from the environment.
 */
export function setNativeAddonPath(path: string): void {
  if (typeof path !== "string" || path.length === 0) {
    throw new InvalidArgumentError("path", "the path of a mistral4.node file", path);
  }
  const wanted = unpackedFromAsar(resolve(path));
  if (loaded && loaded.info.path !== wanted) throw alreadyLoaded(wanted, "setNativeAddonPath()");
  configuredPath = wanted;
}

/** The addon this process loaded, or undefined before the first load. */
export function loadedAddon(): AddonInfo | undefined {
  return loaded ? { ...loaded.info } : undefined;
}

export function loadNative(options: { addonPath?: string | undefined } = {}): NativeBinding {
  if (loaded) {
    // setNativeAddonPath() checks itself; the environment was read when the addon was loaded.
    const wanted = options.addonPath === undefined ? undefined : unpackedFromAsar(resolve(options.addonPath));
    if (wanted !== undefined && wanted !== loaded.info.path) throw alreadyLoaded(wanted, "options.addonPath");
    return loaded.binding;
  }
  const explicit = explicitPath(options.addonPath);
  if (explicit) {
    if (!existsSync(explicit.path)) {
      throw new NativeAddonError(
        `The native addon was not found at ${explicit.path} (given by ${explicit.source}). ` +
          `Point the library at a built mistral4.node with ${POINT_AT_IT}.`,
      );
    }
    return remember(requireAddon(explicit), explicit);
  }

  const root = packageRoot();
  const key = platformKey();
  const tried: string[] = [];
  let brokenPrebuilt: string | undefined;
  const prebuilt = findPrebuilt(root, key);
  if (prebuilt) {
    const probe = probeAddon(prebuilt, EXPECTED_ABI_VERSION);
    const info: AddonInfo = { path: prebuilt, source: "prebuilt package" };
    if (probe.status !== "broken") return remember(requireAddon(info), info);
    brokenPrebuilt = `the prebuilt binary ${prebuilt} failed its test load (${probe.reason})`;
    tried.push(brokenPrebuilt);
  } else {
    tried.push(`the prebuilt package ${prebuiltPackageName(key)} is not installed`);
  }
  const builds = localBuilds(root);
  const local = builds.find((p) => existsSync(p));
  if (local) {
    if (brokenPrebuilt) process.emitWarning(`${brokenPrebuilt}; using the local build ${local}`);
    const info: AddonInfo = { path: local, source: "local build" };
    return remember(requireAddon(info), info);
  }
  tried.push(`there is no local build (looked for ${builds.join(", ")})`);
  throw new NativeAddonError(
    `No native addon for ${key}: ${tried.join("; ")}. ${installAdvice(key, brokenPrebuilt !== undefined)} ` +
      `In a bundled or packaged application (esbuild, webpack, Electron asar), point the library at the binary with ${POINT_AT_IT}.`,
  );
}

/** For tests: forget the loaded binding, the configured path and probe results. */
export function resetNativeForTests(): void {
  loaded = undefined;
  configuredPath = undefined;
  resetProbeCache();
}

/**
 * The package root: the nearest folder above this file whose package.json names mistral4-runtime (lib/ in
 * sources and tests, dist/ when built). A bundle outside the package gets the folder above it.
 */
export function packageRoot(): string {
  const here = typeof __dirname === "string" ? __dirname : dirname(fileURLToPath(import.meta.url));
  for (let dir = here; ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === PACKAGE_NAME)
          return dir;
      } catch {
        // an unreadable package.json is not ours: keep walking up
      }
    }
    if (dirname(dir) === dir) return resolve(here, "..");
  }
}

function explicitPath(fromOptions: string | undefined): { path: string; source: AddonSource } | undefined {
  const pick = (path: string, source: AddonSource) => ({ path: unpackedFromAsar(resolve(path)), source });
  if (fromOptions !== undefined) return pick(fromOptions, "options.addonPath");
  if (configuredPath !== undefined) return { path: configuredPath, source: "setNativeAddonPath()" };
  const fromEnv = process.env.MS4_ADDON_PATH;
  return fromEnv ? pick(fromEnv, "MS4_ADDON_PATH") : undefined;
}

/** The prebuilt platform package's binary, resolved the way Node.js resolves modules (hoisted or nested). */
function findPrebuilt(root: string, key: string): string | undefined {
  try {
    return unpackedFromAsar(createRequire(join(root, "package.json")).resolve(prebuiltPackageName(key)));
  } catch {
    return undefined;
  }
}

function localBuilds(root: string): string[] {
  return [join(root, "build", "Release", "mistral4.node"), join(root, "build", "Debug", "mistral4.node")];
}

/** Native code cannot be loaded from inside an Electron asar archive; packagers unpack it next to it. */
function unpackedFromAsar(path: string): string {
  const unpacked = path.replace(/\.asar([\\/])/, ".asar.unpacked$1");
  return unpacked !== path && existsSync(unpacked) ? unpacked : path;
}

function requireAddon(info: AddonInfo): NativeBinding {
  let binding: NativeBinding;
  try {
    binding = createRequire(join(packageRoot(), "package.json"))(info.path) as NativeBinding;
  } catch (cause) {
    throw new NativeAddonError(
      `The native addon at ${info.path} (${info.source}) failed to load: ${(cause as Error).message}. ` +
        "A local build must be rebuilt for this machine with `npm rebuild mistral4-runtime`.",
      { cause },
    );
  }
  if (binding.abiVersion !== EXPECTED_ABI_VERSION || typeof binding.NativeWeights !== "function") {
    throw new NativeAddonError(
      `The native addon at ${info.path} (${info.source}) has binding version ${String(binding.abiVersion)} but ` +
        `this library needs ${EXPECTED_ABI_VERSION}: it belongs to another version of mistral4-runtime.`,
    );
  }
  return binding;
}

function remember(binding: NativeBinding, info: AddonInfo): NativeBinding {
  loaded = { binding, info };
  return binding;
}

function alreadyLoaded(wanted: string, source: AddonSource): NativeAddonError {
  const current = loaded as { info: AddonInfo };
  return new NativeAddonError(
    `${source} asks for the native addon ${wanted}, but this process already loaded ${current.info.path} ` +
      `(${current.info.source}); a process loads one addon, so set the path before the first Model.load() or systemInfo()`,
  );
}

function installAdvice(key: string, prebuiltBroken: boolean): string {
  const buildFromSource =
    "build from source with `npm rebuild mistral4-runtime` (needs a C++17 compiler and cmake; npm 11 runs a " +
    "dependency's build script once it is approved: `npm install-scripts approve mistral4-runtime`).";
  if (prebuiltBroken) return `The prebuilt binary cannot run on this machine: ${buildFromSource}`;
  if (PREBUILT_KEYS.includes(key)) {
    return (
      `npm installs ${prebuiltPackageName(key)} with mistral4-runtime as an optional dependency: reinstall ` +
      `without --omit=optional / --no-optional, or ${buildFromSource}`
    );
  }
  return `Prebuilt binaries exist for ${PREBUILT_KEYS.join(", ")}; on ${key}, ${buildFromSource}`;
}
