export {
  BF16_CANONICAL_NAN,
  bf16ArrayToF32,
  bf16BitsToF32,
  f32ArrayToBf16,
  f32ToBf16Bits,
  roundToBf16,
} from "./bf16";
export {
  decodeFp8E4m3,
  decodeFp8E4m3Array,
  encodeFp8E4m3,
  encodeFp8E4m3Array,
  FP8_E4M3_DECODE,
  FP8_E4M3_MAX,
  FP8_E4M3_NAN,
  type Fp8EncodeOptions,
} from "./fp8-e4m3";
export {
  dequantizeNvfp4,
  E2M1_MAGNITUDES,
  E2M1_MAX,
  e2m1Decode,
  e2m1Encode,
  NVFP4_GROUP_SIZE,
  NVFP4_ZERO_BLOCK_SCALE,
  type Nvfp4Tensor,
  type QuantizeNvfp4Options,
  quantizeNvfp4,
} from "./nvfp4";
