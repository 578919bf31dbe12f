/** A bundled application that only loads the addon and prints where it came from (systemInfo().addon). */
import { systemInfo } from "mistral4-runtime";
import { printError, printResult } from "./app-output";

try {
  const info = systemInfo();
  printResult({ addon: info.addon, kernelPaths: info.cpu.kernelPaths });
} catch (error) {
  printError(error);
}
