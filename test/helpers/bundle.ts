/**
 * esbuild bundles of test applications (test/embedding/apps/*.ts) that import the library from its sources, the
 * way an application bundler inlines an npm package: one self-contained file, far from the package's own folder,
 * so the library cannot find its addon by walking up from its files.
 */
import { build } from "esbuild";

export async function bundleApp(
  entry: string,
  outfile: string,
  format: "esm" | "cjs" = "esm",
): Promise<void> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    format,
    target: "node20",
    logLevel: "error",
  });
}
