// The prebuilt platform package for this machine and a child-process test load of a binary, for the install
// script. lib/addon/platform.ts and lib/addon/probe.ts do the same for the library at run time (the install
// script runs before, and without, the built library); test/addon/platform.test.ts keeps them in step.
import { spawnSync } from "node:child_process";

export const PACKAGE_NAME = "mistral4-runtime";

/** The platform key in @napi-rs/cli's naming: linux-x64-gnu, linux-x64-musl, darwin-arm64, win32-x64-msvc. */
export function platformKey(platform = process.platform, arch = process.arch) {
  if (platform === "linux") {
    const glibc = process.report?.getReport()?.header?.glibcVersionRuntime;
    return `linux-${arch}-${glibc ? "gnu" : "musl"}`;
  }
  if (platform === "win32") return `win32-${arch}-msvc`;
  return `${platform}-${arch}`;
}

export function prebuiltPackageName(key = platformKey()) {
  return `${PACKAGE_NAME}-${key}`;
}

export function prebuiltFileName(key = platformKey()) {
  return `mistral4.${key}.node`;
}

/**
 * Loads `path` in a child process and asks it for the CPU features. Returns undefined when it works, else why
 * not (a signal such as SIGILL, or the load error).
 */
export function testLoad(path, timeoutMs = 60_000) {
  const source = "require(process.argv[1]).systemInfo();";
  const child = spawnSync(process.execPath, ["-e", source, path], {
    encoding: "utf8",
    timeout: timeoutMs,
  });
  if (child.error) return child.error.message;
  if (child.signal)
    return `killed by ${child.signal}${child.signal === "SIGILL" ? " (an instruction this CPU lacks)" : ""}`;
  if (child.status !== 0) {
    const lines = (child.stderr ?? "").split(/\r?\n/);
    return (
      lines.find((l) => /^\w*Error\b/.test(l)) ?? lines.filter(Boolean).pop() ?? `exit status ${child.status}`
    );
  }
  return undefined;
}
