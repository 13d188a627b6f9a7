/**
 * Where a context's native time goes: each kernel's calls and milliseconds
 * (the FFI call included; GPU backends return when the kernel is done), and
 * the host↔device transfers (on backends whose memory is not shared). With a
 * run's stage times this splits a run into kernels, transfers and
 * TypeScript; the FFI's own cost per call is measured beside it.
 */
import type { NativeLibrary } from './library';

export interface CallTally {
  calls: number;
  ms: number;
}

export interface TransferTally extends CallTally {
  bytes: number;
}

export interface NativeTimesReport {
  /** all kernel calls on the backend (not the CPU fallback's, reported apart) */
  kernelCalls: number;
  kernelMs: number;
  uploads: TransferTally;
  downloads: TransferTally;
  /** one FFI round trip to a trivial native function, median µs, measured when the report was made */
  ffiCallUs: number;
  /** kernel and transfer calls × ffiCallUs: the part of the native time that is the call itself */
  ffiMsEstimate: number;
  /** per kernel, most time first */
  byKernel: ({ kernel: string } & CallTally)[];
}

const round3 = (v: number): number => Math.round(v * 1000) / 1000;

export class NativeTimes {
  private readonly kernels = new Map<string, CallTally>();
  readonly uploads: TransferTally = { calls: 0, bytes: 0, ms: 0 };
  readonly downloads: TransferTally = { calls: 0, bytes: 0, ms: 0 };

  kernel(name: string, ms: number): void {
    const t = this.kernels.get(name);
    if (t) {
      t.calls++;
      t.ms += ms;
    } else {
      this.kernels.set(name, { calls: 1, ms });
    }
  }

  transfer(into: TransferTally, bytes: number, ms: number): void {
    into.calls++;
    into.bytes += bytes;
    into.ms += ms;
  }

  report(lib: NativeLibrary): NativeTimesReport {
    const byKernel = [...this.kernels].map(([kernel, t]) => ({ kernel, calls: t.calls, ms: round3(t.ms) })).sort((a, b) => b.ms - a.ms);
    const kernelCalls = byKernel.reduce((s, k) => s + k.calls, 0);
    const kernelMs = byKernel.reduce((s, k) => s + k.ms, 0);
    const ffiCallUs = measureFfiCallUs(lib);
    const calls = kernelCalls + this.uploads.calls + this.downloads.calls;
    const tally = (t: TransferTally): TransferTally => ({ calls: t.calls, bytes: t.bytes, ms: round3(t.ms) });
    return {
      kernelCalls, kernelMs: round3(kernelMs), uploads: tally(this.uploads), downloads: tally(this.downloads),
      ffiCallUs: round3(ffiCallUs), ffiMsEstimate: round3((calls * ffiCallUs) / 1000), byKernel,
    };
  }
}

/** median over 9 batches of 500 calls of ss_kernel_count (no work, no context) */
function measureFfiCallUs(lib: NativeLibrary): number {
  const per: number[] = [];
  for (let b = 0; b < 9; b++) {
    const t0 = performance.now();
    for (let i = 0; i < 500; i++) lib.symbols.ss_kernel_count();
    per.push(((performance.now() - t0) * 1000) / 500);
  }
  per.sort((a, b) => a - b);
  return per[4] as number;
}
