import { abiConstants } from '../abi.generated';

/** SS_DIST_DOT / SS_DIST_L2 for ss_float_match's dist */
export const FLOAT_MATCH_METRIC = { dot: abiConstants.SS_DIST_DOT, l2: abiConstants.SS_DIST_L2 } as const;

/** floats per keypoint in ss_orb_extract's output */
export const ORB_KEYPOINT_FLOATS = 8;
export const ORB_DESCRIPTOR_BYTES = 32;

/** SS_FLAG_PORTABLE: run the portable kernel bodies instead of the backend's SIMD paths */
export const TRACKING_FLAG_PORTABLE = abiConstants.SS_FLAG_PORTABLE;
