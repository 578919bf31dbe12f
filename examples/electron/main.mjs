// Electron main process: one window, and the model in a utility process (model-host.mjs), so a long load or a
// crash of native code never freezes or takes down the window. The renderer talks to it through preload.cjs.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { app, BrowserWindow, ipcMain, utilityProcess } from "electron";

const here = fileURLToPath(new URL(".", import.meta.url));

function startModelHost() {
  const host = utilityProcess.fork(join(here, "model-host.mjs"), [], {
    serviceName: "mistral4-runtime model",
    // The built-in model and other caches go to the app's own data folder, not ~/.cache.
    env: { ...process.env, MS4_CACHE_DIR: join(app.getPath("userData"), "mistral4-runtime") },
  });
  // Optional: a checkpoint folder given on the command line (`npm start -- /path/to/checkpoint`).
  const dir = process.argv.find((arg, i) => i >= 2 && !arg.startsWith("-") && arg !== ".");
  host.postMessage({ type: "load", dir });
  return host;
}

app.whenReady().then(() => {
  const host = startModelHost();
  const window = new BrowserWindow({
    width: 800,
    height: 600,
    webPreferences: { preload: join(here, "preload.cjs") },
  });
  // Everything the host says goes to the window; the window's requests go to the host.
  host.on("message", (message) => window.webContents.send("model:message", message));
  ipcMain.on("model:request", (_event, request) => host.postMessage(request));
  window.loadFile(join(here, "index.html"));
  app.on("before-quit", () => host.postMessage({ type: "dispose" }));
});

app.on("window-all-closed", () => app.quit());
