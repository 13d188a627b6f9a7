/** Synthetic scenes: analytic frames, exact surfaces and distances. */
export { syntheticScene, type SyntheticScene, type SyntheticSceneName, type Primitive, type Material, type CameraPath } from './scene';
export { createRenderer, renderView, type Renderer, type SyntheticView } from './raycast';
export { SyntheticSequence, syntheticFrames, syntheticIntrinsics, syntheticPoses, syntheticSource } from './source';
export { cullToSeen, syntheticTruthMesh, type CullOptions, type CullView, type TruthMeshOptions } from './truth';
export { sceneSdf, syntheticSdf } from './sdf';
export { cameraPoseAt, lookAtWithRoll } from './trajectory';
