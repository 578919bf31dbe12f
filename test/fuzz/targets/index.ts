/** Every parser fuzz target, in the order the report lists them. */
import type { FuzzTarget } from "../harness";
import { chatRequestTarget } from "./chat-request";
import { imageTarget } from "./image";
import { modelConfigTarget } from "./model-config";
import { responseFormatTarget } from "./response-format";
import { safetensorsHeaderTarget } from "./safetensors-header";
import { samplingOptionsTarget } from "./sampling-options";
import { shardIndexTarget } from "./shard-index";
import { tekkenJsonTarget } from "./tekken-json";

export const FUZZ_TARGETS: readonly FuzzTarget<unknown, unknown>[] = [
  safetensorsHeaderTarget,
  shardIndexTarget,
  modelConfigTarget,
  tekkenJsonTarget,
  chatRequestTarget,
  responseFormatTarget,
  samplingOptionsTarget,
  imageTarget,
] as FuzzTarget<unknown, unknown>[];
