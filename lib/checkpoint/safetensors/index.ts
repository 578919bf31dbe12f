export {
  isSafetensorsDtype,
  SAFETENSORS_DTYPE_BITS,
  SAFETENSORS_DTYPES,
  type SafetensorsDtype,
  type TensorByteCount,
  tensorByteCount,
} from "./dtypes";
export {
  type CheckpointFileSet,
  type CheckpointFiles,
  type CheckpointLayout,
  findCheckpointFiles,
} from "./find-files";
export {
  parseSafetensorsHeader,
  parseSafetensorsHeaderLength,
  SAFETENSORS_LENGTH_PREFIX_BYTES,
  SAFETENSORS_MAX_HEADER_BYTES,
  type SafetensorsHeader,
  type SafetensorsTensor,
} from "./header";
export { readSafetensorsHeader, type SafetensorsFileHeader } from "./read";
export {
  checkShardIndexMatchesHeaders,
  isPlainFileName,
  type LoadedShardIndex,
  loadShardedIndex,
  readShardIndex,
  type ShardIndex,
} from "./shard-index";
export {
  type EncodedSafetensorsHeader,
  encodeSafetensorsHeader,
  type SafetensorsTensorInput,
  type SafetensorsTensorSpec,
  SafetensorsWriter,
  type TensorDataSource,
  writeSafetensors,
} from "./write";
