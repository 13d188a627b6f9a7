/** MASt3R post-processing on the native kernels: matching, point maps, triangulation, TSDF depth refinement. */
export { reciprocalNN, reciprocalMask, type ReciprocalNN, type ReciprocalNNOptions } from './reciprocalNN';
export { fastReciprocalNN, gridSeeds, type FastReciprocalNNOptions, type FastReciprocalNNResult } from './fastReciprocalNN';
export { mergeCorrespondences, dropBorderMatches, type Correspondences } from './mergeCorrespondences';
export { depthmapToPts3d, geotrf, type Focal, type PrincipalPoint, type PointMap, type DepthmapOptions, type GeotrfOptions } from './pointmaps';
export { batchedTriangulate, matchesToDepths, type MatchDepths, type MatchesToDepthsOptions, type TriangulateOptions } from './triangulate';
export { similarities, infoNCELoss, type InfoNCE, type InfoNCEOptions, type SimilarityOptions } from './similarities';
export { refineDepthsTSDF, type RefineDepthsTSDFOptions } from './refineDepthsTSDF';
export { readNpy, writeNpy, parseNpy, formatNpy, NpyError } from './npy';
export { Mast3rInputError } from './errors';
export { type NdArray, type NumericArray, type DType, ndarray } from './ndarray';
export { type NativeTensor, type TensorInput, type OutputOptions, isNativeTensor } from './tensor';
export { type Distance, type KernelOptions } from './native';
