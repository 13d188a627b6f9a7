import { defineArgs } from '../args';

export const orbExtractArgs = defineArgs('orb_extract', {
  width: 'u32', height: 'u32', levels: 'u32', max_features: 'u32',
  fast_threshold: 'u32', fast_min_threshold: 'u32', grid_cell: 'u32', edge: 'u32',
  scale_factor: 'f32', harris_k: 'f32', flags: 'u32', pad0: 'u32',
});

export const hammingMatchArgs = defineArgs('hamming_match', {
  n: 'u32', m: 'u32', words: 'u32', block: 'u32',
  max_distance: 'u32', flags: 'u32', pad1: 'u32', pad2: 'u32',
  ratio: 'f32', pad3: 'f32', pad4: 'f32', pad5: 'f32',
});

export const floatMatchArgs = defineArgs('float_match', {
  n: 'u32', m: 'u32', dim: 'u32', metric: 'u32',
  block: 'u32', pad0: 'u32', pad1: 'u32', pad2: 'u32',
  threshold: 'f32', ratio: 'f32', pad3: 'f32', pad4: 'f32',
});

/** SS_FLOAT_MATCH_L2 / SS_FLOAT_MATCH_DOT */
export const FLOAT_MATCH_METRIC = { l2: 0, dot: 1 } as const;

/** floats per keypoint in ss_orb_extract's output */
export const ORB_KEYPOINT_FLOATS = 8;
export const ORB_DESCRIPTOR_BYTES = 32;

/** SS_TRACKING_FLAG_PORTABLE: run the portable kernel bodies instead of the backend's SIMD paths */
export const TRACKING_FLAG_PORTABLE = 1;
