/**
 * Replay pacing. 'fast' passes every frame on as soon as it exists (the
 * deterministic mode for tests and offline fusion); 'realtime' holds each frame
 * until its source timestamp, measured from the first frame's, has elapsed on
 * the scheduler's clock. A frame that is already late goes out at once, so a
 * slow source never falls further behind.
 */
import { asyncScheduler, concatMap, defer, identity, map, of, timer, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { PaceModeSchema, type PaceMode } from '../config';
import type { Frame } from './frame';
import { parseOptions } from './parseOptions';

export function pace(mode: PaceMode, scheduler: SchedulerLike = asyncScheduler): OperatorFunction<Frame, Frame> {
  const m = parseOptions(PaceModeSchema, mode, 'pace');
  if (m === 'fast') return identity;
  return (source) =>
    defer(() => {
      let t0Source: number | null = null;
      let t0Clock = 0;
      return source.pipe(
        concatMap((frame) => {
          if (t0Source === null) {
            t0Source = frame.timestamp;
            t0Clock = scheduler.now();
          }
          const due = t0Clock + (frame.timestamp - t0Source) * 1000 - scheduler.now();
          return due > 0 ? timer(due, scheduler).pipe(map(() => frame)) : of(frame);
        }),
      );
    });
}
