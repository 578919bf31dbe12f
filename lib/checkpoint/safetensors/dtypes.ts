/**
 * The dtypes the safetensors format defines (Rust crate `safetensors::Dtype`), with their size in bits.
 * F4 and the F6 types are sub-byte: a tensor of them must fill a whole number of bytes.
 */
export const SAFETENSORS_DTYPE_BITS = Object.freeze({
  BOOL: 8,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  F8_E4M3FNUZ: 8,
  F8_E5M2FNUZ: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  C64: 64,
  F64: 64,
  I64: 64,
  U64: 64,
});

export type SafetensorsDtype = keyof typeof SAFETENSORS_DTYPE_BITS;

export const SAFETENSORS_DTYPES = Object.freeze(Object.keys(SAFETENSORS_DTYPE_BITS) as SafetensorsDtype[]);

export function isSafetensorsDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === "string" && Object.hasOwn(SAFETENSORS_DTYPE_BITS, value);
}

export type TensorByteCount =
  | { ok: true; bytes: bigint }
  | { ok: false; reason: "not-whole-bytes"; bits: bigint };

/** Bytes taken by a tensor of `dtype` and `shape` (dims are non-negative integers), computed without overflow. */
export function tensorByteCount(dtype: SafetensorsDtype, shape: readonly number[]): TensorByteCount {
  let elements = 1n;
  for (const dim of shape) elements *= BigInt(dim);
  const bits = elements * BigInt(SAFETENSORS_DTYPE_BITS[dtype]);
  if (bits % 8n !== 0n) return { ok: false, reason: "not-whole-bytes", bits };
  return { ok: true, bytes: bits / 8n };
}
