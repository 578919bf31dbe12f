/** RoPE inverse frequencies for the rope dims: plain, or YaRN-interpolated (docs/model.md#rope-and-yarn). */
import type { ModelConfig } from "../config/model-config";

export function ropeInverseFrequencies(c: ModelConfig): Float64Array {
  const dim = c.qkRopeHeadDim;
  const r = c.rope;
  const out = new Float64Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) out[i] = r.theta ** ((-2 * i) / dim);
  if (r.type !== "yarn") return out;
  // Dimensions rotating fewer than beta_slow times over the original context are interpolated (÷ factor),
  // those rotating more than beta_fast times are kept; a linear ramp blends the band between.
  const correction = (rotations: number) =>
    (dim * Math.log(r.originalMaxPositionEmbeddings / (rotations * 2 * Math.PI))) / (2 * Math.log(r.theta));
  const low = Math.max(Math.floor(correction(r.betaFast)), 0);
  let high = Math.min(Math.ceil(correction(r.betaSlow)), dim - 1);
  if (high === low) high += 0.001;
  for (let i = 0; i < dim / 2; i++) {
    const ramp = Math.min(Math.max((i - low) / (high - low), 0), 1);
    const extrapolation = 1 - ramp;
    const extra = out[i]!;
    out[i] = (extra / r.factor) * (1 - extrapolation) + extra * extrapolation;
  }
  return out;
}
