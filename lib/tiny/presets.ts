/**
 * Architectures for generated checkpoints. `tiny` keeps every structural feature of Mistral Small 4 at
 * toy sizes (tests, the built-in model); `real-2layer` has the real per-layer sizes but 2 layers (speed
 * measurements on realistic matrices); `real` is the published model (for config/inspect checks only).
 */

export interface Architecture {
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly qLoraRank: number;
  readonly kvLoraRank: number;
  readonly qkNopeHeadDim: number;
  readonly qkRopeHeadDim: number;
  readonly vHeadDim: number;
  readonly numExperts: number;
  readonly numExpertsPerToken: number;
  readonly numSharedExperts: number;
  readonly expertHiddenSize: number;
  readonly intermediateSize: number;
  readonly vocabSize: number;
  /** The Pixtral tower; null for a text-only checkpoint. */
  readonly vision: {
    readonly hiddenSize: number;
    readonly numLayers: number;
    readonly numHeads: number;
    readonly intermediateSize: number;
    readonly patchSize: number;
    readonly imageSize: number;
  } | null;
}

const REAL_PRESETS = {
  tiny: {
    hiddenSize: 128,
    numLayers: 2,
    numHeads: 4,
    qLoraRank: 64,
    kvLoraRank: 32,
    qkNopeHeadDim: 16,
    qkRopeHeadDim: 16,
    vHeadDim: 32,
    numExperts: 8,
    numExpertsPerToken: 4,
    numSharedExperts: 1,
    expertHiddenSize: 64,
    intermediateSize: 256,
    vocabSize: 2048,
    vision: {
      hiddenSize: 32,
      numLayers: 2,
      numHeads: 2,
      intermediateSize: 64,
      patchSize: 14,
      imageSize: 224,
    },
  },
  real: {
    hiddenSize: 4096,
    numLayers: 36,
    numHeads: 32,
    qLoraRank: 1024,
    kvLoraRank: 256,
    qkNopeHeadDim: 64,
    qkRopeHeadDim: 64,
    vHeadDim: 128,
    numExperts: 128,
    numExpertsPerToken: 4,
    numSharedExperts: 1,
    expertHiddenSize: 2048,
    intermediateSize: 12288,
    vocabSize: 131072,
    vision: {
      hiddenSize: 1024,
      numLayers: 24,
      numHeads: 16,
      intermediateSize: 4096,
      patchSize: 14,
      imageSize: 1540,
    },
  },
} as const satisfies Record<string, Architecture>;

const REAL_2_LAYER: Architecture = {
  ...REAL_PRESETS.real,
  numLayers: 2,
  // The vision tower stays toy-sized: the preset exists to time the text decoder on real matrices.
  vision: REAL_PRESETS.tiny.vision,
};

export const PRESETS = { ...REAL_PRESETS, "real-2layer": REAL_2_LAYER } as const;

export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];
