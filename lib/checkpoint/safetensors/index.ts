export {
  isSafetensorsDtype,
  SAFETENSORS_DTYPE_BITS,
  SAFETENSORS_DTYPES,
  type SafetensorsDtype,
  type TensorByteCount,
  tensorByteCount,
} from "./dtypes.js";
export {
  type CheckpointFileSet,
  type CheckpointFiles,
  type CheckpointLayout,
  findCheckpointFiles,
} from "./find-files.js";
export {
  parseSafetensorsHeader,
  parseSafetensorsHeaderLength,
  SAFETENSORS_LENGTH_PREFIX_BYTES,
  SAFETENSORS_MAX_HEADER_BYTES,
  type SafetensorsHeader,
  type SafetensorsTensor,
} from "./header.js";
export { readSafetensorsHeader, type SafetensorsFileHeader } from "./read.js";
export {
  checkShardIndexMatchesHeaders,
  isPlainFileName,
  type LoadedShardIndex,
  loadShardedIndex,
  readShardIndex,
  type ShardIndex,
} from "./shard-index.js";
export {
  type EncodedSafetensorsHeader,
  encodeSafetensorsHeader,
  type SafetensorsTensorInput,
  type SafetensorsTensorSpec,
  SafetensorsWriter,
  type TensorDataSource,
  writeSafetensors,
} from "./write.js";
