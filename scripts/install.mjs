#!/usr/bin/env node
// npm's install hook. Uses the prebuilt platform package (mistral4-runtime-<platform>, an optional dependency)
// when it loads on this machine; otherwise builds the addon from source (scripts/build-native.mjs).
// Environment: MS4_SKIP_NATIVE_BUILD=1 installs without any addon (point the library at one with
//              setNativeAddonPath / addonPath / MS4_ADDON_PATH); MS4_BUILD_FROM_SOURCE=1 builds from source even
//              when a prebuilt loads (the library still prefers a working prebuilt: see README "Install").
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildFromSource } from "./build-native.mjs";
import { platformKey, prebuiltPackageName, testLoad } from "./native/platform.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const log = (msg) => console.error(`[mistral4-runtime] ${msg}`);

if (process.env.MS4_SKIP_NATIVE_BUILD === "1") {
  log("MS4_SKIP_NATIVE_BUILD=1: installing without the native addon.");
  process.exit(0);
}

const key = platformKey();
const name = prebuiltPackageName(key);
let prebuilt;
try {
  prebuilt = createRequire(join(root, "package.json")).resolve(name);
} catch {
  prebuilt = undefined;
}

if (process.env.MS4_BUILD_FROM_SOURCE === "1") {
  log("MS4_BUILD_FROM_SOURCE=1: building from source.");
} else if (prebuilt) {
  const failure = testLoad(prebuilt);
  if (failure === undefined) {
    log(`using the prebuilt binary ${name} (${prebuilt}); nothing to compile.`);
    process.exit(0);
  }
  log(`the prebuilt binary ${prebuilt} does not load here (${failure}): building from source.`);
} else {
  log(`no prebuilt binary for ${key} is installed (${name}): building from source.`);
}

const status = buildFromSource({ root });
if (status !== 0) {
  log("the native addon failed to build; the messages above say why. MS4_CUDA=OFF builds without CUDA;");
  log(
    "MS4_SKIP_NATIVE_BUILD=1 installs without an addon (then give the library one with setNativeAddonPath).",
  );
  process.exit(status);
}
log(`native addon built: ${join(root, "build", "Release", "mistral4.node")}`);
