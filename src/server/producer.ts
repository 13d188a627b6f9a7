/**
 * The seam between the server (main thread) and whatever produces scene
 * updates: normally the pipeline worker, in tests an in-process runner or a
 * plain Observable of updates.
 */
import type { Observable } from 'rxjs';
import type { Intrinsics } from '../geometry/intrinsics';
import type { CameraFrameMessage } from './dataMessages';
import type { ErrorCode, SourceState } from './protocol';
import type { FramePreview, SceneUpdate } from './sceneUpdate';

export type ProducerEvent =
  | { type: 'update'; update: SceneUpdate }
  | { type: 'frame'; preview: FramePreview }
  | { type: 'status'; source: string; state: SourceState; message?: string }
  /** recording started (dir) or stopped (dir null; frames written, or the error that stopped it) */
  | { type: 'recording'; dir: string | null; frames?: number; message?: string }
  /** the producer started a fresh pipeline (reset, new source): the scene must be cleared */
  | { type: 'reset' }
  /** a command from one client failed (e.g. an undecodable camera frame) */
  | { type: 'clientError'; clientId: number; code: ErrorCode; message: string };

export type ProducerCommand =
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'reset' }
  | { type: 'setSource'; spec: string }
  | { type: 'startRecording'; dir: string }
  | { type: 'stopRecording' }
  | { type: 'cameraStart'; clientId: number; intrinsics: Intrinsics }
  | { type: 'cameraStop'; clientId: number }
  | { type: 'cameraFrame'; clientId: number; frame: CameraFrameMessage };

export interface UpdateProducer {
  /** hot: events from now on */
  readonly events: Observable<ProducerEvent>;
  /** begin producing; called once, after the consumer subscribed to events */
  start(): void;
  send(command: ProducerCommand): void;
  /** stop the source and pipeline, finish any recording; resolves when done */
  stop(): Promise<void>;
}
