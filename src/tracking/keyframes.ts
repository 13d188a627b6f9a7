/**
 * Keyframe map (filled in with ORB features, landmarks and refinement).
 */
import type { TrackingOptions } from '../config';
import type { Frame, Pose } from '../frames/frame';
import type { NativeContext } from '../native/context';
import type { DenseTracker } from './denseTracker';

export interface KeyframeEvent {
  /** keyframe id (0-based, in creation order) */
  id: number;
  /** frame index it was taken at */
  frameIndex: number;
  /** why: 'first' | 'overlap' | 'translation' | 'rotation' */
  why: string;
  landmarksAdded: number;
}

export interface RelocalisationResult {
  pose: Pose;
  keyframe: number;
  inliers: number;
}

export class KeyframeMap {
  private readonly ctx: NativeContext;
  private readonly options: TrackingOptions;

  constructor(ctx: NativeContext, options: TrackingOptions) {
    this.ctx = ctx;
    this.options = options;
  }

  get keyframeCount(): number {
    return 0;
  }

  get landmarkCount(): number {
    return 0;
  }

  consider(_frame: Frame, _tracker: DenseTracker): KeyframeEvent | undefined {
    return undefined;
  }

  relocalise(_frame: Frame, _tracker: DenseTracker): RelocalisationResult | null {
    return null;
  }

  destroy(): void {}
}
