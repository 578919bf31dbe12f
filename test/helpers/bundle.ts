/**
 * esbuild bundles of the test applications (test/embedding/apps/*.ts, which import "mistral4-runtime" as an
 * application does). `library: "inline"` bundles the library's sources into the one output file, as an
 * application bundler does with an npm package, far from the package folder, so the library cannot find its
 * addon by walking up from its files. `library: "external"` leaves `import "mistral4-runtime"` for Node.js to
 * resolve (scripts/ci/ runs the same applications against the installed tarball that way).
 */
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const librarySources = fileURLToPath(new URL("../../lib/index.ts", import.meta.url));

export async function bundleApp(
  entry: string,
  outfile: string,
  options: { format?: "esm" | "cjs"; library?: "inline" | "external" } = {},
): Promise<void> {
  const external = options.library === "external";
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    format: options.format ?? "esm",
    target: "node20",
    logLevel: "error",
    ...(external ? { external: ["mistral4-runtime"] } : { alias: { "mistral4-runtime": librarySources } }),
  });
}
