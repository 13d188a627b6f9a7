/**
 * `synthetic:room|tabletop`: analytic frames with exact depth and ground-truth
 * poses, deterministic bit-for-bit for a given seed. Frame i is at time
 * i / fps; `groundTruthPose` is the true camera-to-world pose and `pose` is
 * left for the pipeline (fusion with --poses groundtruth copies it).
 */
import type { Observable } from 'rxjs';
import { SyntheticOptionsSchema, type SyntheticOptions, type SyntheticOptionsInput } from '../../config';
import type { Intrinsics } from '../../geometry/intrinsics';
import type { Pose } from '../../geometry/se3';
import type { Frame } from '../frame';
import { fromFrameIterator } from '../lazySource';
import { parseOptions } from '../parseOptions';
import { addColourNoise, addDepthNoise } from './noise';
import { createRenderer, type Renderer } from './raycast';
import { syntheticScene, type SyntheticScene } from './scene';
import { cameraJitter, cameraPoseAt } from './trajectory';

export function syntheticIntrinsics(options: SyntheticOptionsInput = {}): Intrinsics {
  const o = parseOptions(SyntheticOptionsSchema, options, 'synthetic source');
  return { fx: o.fx, fy: o.fy, cx: o.cx ?? (o.width - 1) / 2, cy: o.cy ?? (o.height - 1) / 2, width: o.width, height: o.height };
}

/** Ground-truth camera-to-world poses of every frame (no rendering). */
export function syntheticPoses(options: SyntheticOptionsInput = {}): Pose[] {
  const o = parseOptions(SyntheticOptionsSchema, options, 'synthetic source');
  const scene = syntheticScene(o.scene);
  const jitter = cameraJitter(o.seed);
  return Array.from({ length: o.frames }, (_, i) => cameraPoseAt(scene.path, jitter, i / o.fps));
}

/** Renders frames of one sequence; keeps its scene, renderer and jitter. */
export class SyntheticSequence {
  readonly options: SyntheticOptions;
  readonly scene: SyntheticScene;
  readonly intrinsics: Intrinsics;
  private readonly renderer: Renderer;
  private readonly jitter: ReturnType<typeof cameraJitter>;

  constructor(options: SyntheticOptionsInput = {}) {
    this.options = parseOptions(SyntheticOptionsSchema, options, 'synthetic source');
    this.scene = syntheticScene(this.options.scene);
    this.intrinsics = syntheticIntrinsics(this.options);
    this.renderer = createRenderer(this.scene, this.intrinsics);
    this.jitter = cameraJitter(this.options.seed);
  }

  pose(index: number): Pose {
    return cameraPoseAt(this.scene.path, this.jitter, index / this.options.fps);
  }

  /** Frame `index` (any order; the result depends only on options and index). */
  frame(index: number): Frame {
    const o = this.options;
    const pose = this.pose(index);
    const { rgb, depth } = this.renderer.render(pose);
    addDepthNoise(depth, o.depthNoise, o.seed, index);
    addColourNoise(rgb, o.colourNoise, o.seed, index);
    return { index, timestamp: index / o.fps, width: o.width, height: o.height, rgb, depth, intrinsics: { ...this.intrinsics }, groundTruthPose: pose };
  }
}

/** Frames one at a time, rendered only when asked for. */
export async function* syntheticFrames(options: SyntheticOptionsInput = {}): AsyncGenerator<Frame, void, undefined> {
  const seq = new SyntheticSequence(options);
  for (let i = 0; i < seq.options.frames; i++) {
    // let timers and I/O run between frames: rendering is synchronous CPU work
    await new Promise<void>((r) => setImmediate(r));
    yield seq.frame(i);
  }
}

export function syntheticSource(options: SyntheticOptionsInput = {}): Observable<Frame> {
  return fromFrameIterator(() => syntheticFrames(options));
}
