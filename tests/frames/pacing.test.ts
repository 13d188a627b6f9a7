import { describe, expect, test } from 'bun:test';
import { Subject, VirtualTimeScheduler, from, lastValueFrom, map, toArray } from 'rxjs';
import type { Frame } from '../../src/frames/frame';
import { pace } from '../../src/frames/pacing';
import { SourceError } from '../../src/frames/errors';

function frameAt(index: number, timestamp: number): Frame {
  return { index, timestamp, width: 1, height: 1, rgb: new Uint8Array(3), intrinsics: { fx: 1, fy: 1, cx: 0, cy: 0, width: 1, height: 1 } };
}

describe('pace', () => {
  test('realtime: frames go out at their source timestamps relative to the first (virtual clock)', () => {
    const scheduler = new VirtualTimeScheduler();
    const emitted: Array<[number, number]> = [];
    from([frameAt(0, 1000.0), frameAt(1, 1000.1), frameAt(2, 1000.35), frameAt(3, 1001.0)])
      .pipe(pace('realtime', scheduler))
      .subscribe((f) => emitted.push([f.index, scheduler.now()]));
    scheduler.flush();
    expect(emitted.map(([i]) => i)).toEqual([0, 1, 2, 3]);
    const times = emitted.map(([, t]) => t);
    [0, 100, 350, 1000].forEach((want, k) => expect(Math.abs(times[k]! - want)).toBeLessThan(1e-6));
  });

  test('realtime: a late frame goes out at once, later frames keep the source clock', () => {
    const scheduler = new VirtualTimeScheduler();
    const emitted: number[] = [];
    // frame 1 arrives (is produced) at 500 ms though it is due at 100 ms
    const late = [frameAt(0, 0), frameAt(1, 0.1), frameAt(2, 0.6)];
    const arrivals = [0, 500, 500];
    const subject = new Subject<Frame>();
    subject.pipe(pace('realtime', scheduler)).subscribe(() => emitted.push(scheduler.now()));
    late.forEach((f, k) => scheduler.schedule(() => subject.next(f), arrivals[k]));
    scheduler.flush();
    expect(emitted).toEqual([0, 500, 600]);
  });

  test('fast: every frame, synchronously, in order', async () => {
    const frames = [frameAt(0, 5), frameAt(1, 9), frameAt(2, 100)];
    let sync: number[] = [];
    from(frames).pipe(pace('fast')).subscribe((f) => sync.push(f.index));
    expect(sync).toEqual([0, 1, 2]);
    sync = await lastValueFrom(from(frames).pipe(pace('fast'), map((f) => f.index), toArray()));
    expect(sync).toEqual([0, 1, 2]);
  });

  test('an unknown mode is a SourceError', () => {
    expect(() => pace('slow' as 'fast')).toThrow(SourceError);
  });
});
