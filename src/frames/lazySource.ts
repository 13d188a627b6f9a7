/**
 * An Observable over an async iterator of frames: nothing is read before
 * subscription, frames are decoded one at a time (frame k+1 only after
 * subscriber.next(frame k) has returned), and unsubscribing stops the iterator
 * after the frame in flight (its `finally` blocks run). Each subscription
 * starts a fresh iterator.
 *
 * Pitfall: RxJS has no pull. A downstream stage that is synchronous (bun:ffi
 * kernels are) throttles decoding to its own pace; one that queues async work
 * (concatMap over promises) lets frames pile up in its buffer. Consumers that
 * need strict pull iterate the AsyncIterable (tumFrames, recordingFrames,
 * syntheticFrames) directly.
 */
import { Observable } from 'rxjs';
import type { Frame } from './frame';

export function fromFrameIterator(make: () => AsyncIterator<Frame>): Observable<Frame> {
  return new Observable<Frame>((subscriber) => {
    const it = make();
    let stopped = false;
    const pump = async (): Promise<void> => {
      try {
        for (;;) {
          const r = await it.next();
          if (stopped) return;
          if (r.done) {
            subscriber.complete();
            return;
          }
          subscriber.next(r.value);
          if (stopped) return;
        }
      } catch (err) {
        if (!stopped) subscriber.error(err);
      }
    };
    void pump();
    return () => {
      stopped = true;
      void it.return?.(undefined)?.catch(() => undefined);
    };
  });
}
