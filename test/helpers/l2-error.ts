/** ‖actual − reference‖₂ / ‖reference‖₂. */
export function l2RelativeError(actual: ArrayLike<number>, reference: ArrayLike<number>): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < reference.length; i++) {
    diff += (actual[i]! - reference[i]!) ** 2;
    norm += reference[i]! ** 2;
  }
  return Math.sqrt(diff / norm);
}
