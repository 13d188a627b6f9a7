import { ptr, type Pointer } from 'bun:ffi';
import { kernelSpec, kernelSpecs, type KernelArgs, type KernelBuffers, type KernelSymbol } from './args';
import { NativeBuffer } from './buffer';
import { NativeError, UseAfterDestroyError } from './errors';
import { NativeTimes, type NativeTimesReport } from './nativeTimes';
import {
  backendCodes, backendChoices, isBackendChoice, libraryFor, libraryPath, loadLibraryAt, resolveBackend,
  type BackendChoice, type BackendName, type NativeLibrary,
} from './library';

/** backends that 'auto' found built but could not start in this process: said once, then skipped */
const cannotStart = new Set<BackendName>();
/** backends whose CPU fallback was announced in this process */
const announced = new Set<string>();

/** call()'s default: no status other than SS_OK is the caller's to handle */
const noStatuses: readonly number[] = Object.freeze([]);

type KernelFn = (...a: unknown[]) => number;

/**
 * Per kernel, the array call() gathers its buffers in (cleared after each call).
 * Calls are synchronous and nothing inside one calls a kernel through call()
 * again, so a kernel's array is never in use twice at once.
 */
const scratchByKernel = new Map<KernelSymbol, (NativeBuffer | null)[]>();
function bufferScratch(kernel: KernelSymbol, count: number): (NativeBuffer | null)[] {
  let s = scratchByKernel.get(kernel);
  if (s === undefined) {
    s = new Array<NativeBuffer | null>(count).fill(null);
    scratchByKernel.set(kernel, s);
  }
  return s;
}

export interface ContextOptions {
  /** cpu | cuda | metal | metal-emu | auto (default: SCANSTREAM_BACKEND, else auto) */
  backend?: BackendChoice;
  /** worker threads for the CPU backend (and a GPU backend's CPU fallback); 0 = one per core */
  threads?: number;
  /** the library to load instead of the backend's own (tests: a stand-in partial backend) */
  library?: string;
}

/** Where a kernel runs on a context: its own backend, or the CPU fallback. */
export interface KernelPlacement {
  kernel: KernelSymbol;
  runsOn: 'backend' | 'cpu-fallback';
}

/** What the CPU fallback has done on a context (for tests and reports). */
export interface FallbackStats {
  calls: number;
  /** bytes moved between device and host around fallen-back calls (0 where memory is shared) */
  bytesCopied: number;
  /** milliseconds spent in fallen-back calls, transfers included */
  ms: number;
  kernels: KernelSymbol[];
}

/** What a run reports about where its kernels ran (report.json's `native`). */
export interface NativeRunReport {
  backend: string;
  /** kernels this backend lacks, run on the CPU instead */
  cpuFallbackKernels: KernelSymbol[];
  fallback: FallbackStats;
  /** native time on the backend: kernels, transfers, the FFI's cost per call */
  times: NativeTimesReport;
}

/** The backend choice from SCANSTREAM_BACKEND, checked. */
export function envBackendChoice(): BackendChoice | undefined {
  const env = process.env.SCANSTREAM_BACKEND;
  if (env === undefined || env === '') return undefined;
  if (!isBackendChoice(env)) throw new TypeError(`SCANSTREAM_BACKEND must be ${backendChoices.join(', ')}; got '${env}'`);
  return env;
}

/**
 * A backend instance: owns its buffers; destroy() frees them all. A kernel the
 * backend lacks (ss_kernel_supported = 0) runs on a CPU context over the same
 * memory: in place where memory is unified, with a download before and an upload
 * of what it wrote after on CUDA. So every pipeline runs on every backend.
 */
export class NativeContext {
  readonly lib: NativeLibrary;
  readonly backend: BackendName;
  /** ss_backend_name: what the library calls itself */
  readonly backendLabel: string;
  readonly threads: number;
  /** kernels read host memory directly (upload/download are no-ops) */
  readonly unifiedMemory: boolean;
  private handlePtr: Pointer | null;
  private readonly live = new Set<NativeBuffer>();
  private liveBytes = 0;
  private readonly lacking: ReadonlySet<KernelSymbol>;
  private readonly requestedThreads: number;
  private cpu: NativeContext | null = null;
  private readonly fallback: FallbackStats = { calls: 0, bytesCopied: 0, ms: 0, kernels: [] };
  private readonly times = new NativeTimes();

  private constructor(lib: NativeLibrary, backend: BackendName, handle: Pointer, requestedThreads: number) {
    this.lib = lib;
    this.backend = backend;
    this.handlePtr = handle;
    this.requestedThreads = requestedThreads;
    this.threads = lib.symbols.ss_context_threads(handle);
    this.backendLabel = String(lib.symbols.ss_backend_name(handle));
    this.unifiedMemory = lib.symbols.ss_context_unified_memory(handle) === 1;
    const lacking = new Set<KernelSymbol>();
    for (const kernel of kernelSpecs.keys()) {
      const answer = lib.symbols.ss_kernel_supported(handle, ptr(Buffer.from(`${kernel}\0`)));
      if (answer === -1) throw new NativeError('ss_kernel_supported', 6, `${this.backendLabel} does not know ${kernel}: library and header out of step`);
      if (answer !== 1) lacking.add(kernel);
    }
    this.lacking = lacking;
  }

  static create(options: ContextOptions = {}): NativeContext {
    const choice = options.backend ?? envBackendChoice() ?? 'auto';
    if (!isBackendChoice(choice)) throw new TypeError(`backend must be ${backendChoices.join(', ')}; got '${choice}'`);
    const threads = options.threads ?? 0;
    const backend = resolveBackend(choice);
    if (choice === 'auto' && cannotStart.has(backend)) return NativeContext.open('cpu', threads);
    try {
      return NativeContext.open(backend, threads, options.library);
    } catch (e) {
      // 'auto' found a GPU library, but this machine cannot run it (no device, no driver): the CPU always can
      if (choice !== 'auto' || backend === 'cpu' || process.env.SCANSTREAM_LIB || options.library) throw e;
      cannotStart.add(backend);
      process.stderr.write(`scanstream: the ${backend} backend is built but cannot start here (${(e as Error).message}); using the CPU backend\n`);
      return NativeContext.open('cpu', threads);
    }
  }

  private static open(backend: BackendName, threads: number, library?: string): NativeContext {
    const lib = loadLibraryAt(library ?? libraryFor(backend), backend);
    const out = new BigUint64Array(1);
    const status = lib.symbols.ss_context_create(backendCodes[backend], threads, ptr(out));
    if (status !== 0 || out[0] === 0n) {
      // a library may say why through ss_last_error(NULL) (Metal: no device, or the MSL did not compile)
      const why = String(lib.symbols.ss_last_error(null) ?? '');
      const detail = why && why !== 'null context' ? `: ${why}` : '';
      throw new NativeError('ss_context_create', status, `cannot create a ${backend} context${detail}`);
    }
    return new NativeContext(lib, backend, Number(out[0]) as Pointer, threads);
  }

  get handle(): Pointer {
    if (this.handlePtr === null) throw new UseAfterDestroyError('NativeContext');
    return this.handlePtr;
  }

  get destroyed(): boolean {
    return this.handlePtr === null;
  }

  /** Buffers alive and their total bytes (for leak checks). */
  stats(): { buffers: number; bytes: number } {
    return { buffers: this.live.size, bytes: this.liveBytes };
  }

  /** Whether this backend runs the kernel itself (else the CPU fallback does). */
  supports(kernel: KernelSymbol): boolean {
    return !this.lacking.has(kernel);
  }

  /** Every kernel of the ABI and where it runs on this context. */
  placement(): KernelPlacement[] {
    return [...kernelSpecs.keys()].map((kernel) => ({ kernel, runsOn: this.lacking.has(kernel) ? 'cpu-fallback' : 'backend' }));
  }

  /** What the CPU fallback has done so far on this context. */
  fallbackStats(): FallbackStats {
    return { ...this.fallback, kernels: [...this.fallback.kernels] };
  }

  /** Which backend ran, and what fell back to the CPU (with the bytes and time it cost). */
  runReport(): NativeRunReport {
    return { backend: this.backendLabel, cpuFallbackKernels: [...this.lacking], fallback: this.fallbackStats(), times: this.times.report(this.lib) };
  }

  lastError(): string {
    return String(this.lib.symbols.ss_last_error(this.handle));
  }

  buffer(bytes: number): NativeBuffer {
    if (!Number.isSafeInteger(bytes) || bytes <= 0) {
      throw new RangeError(`NativeContext.buffer: size must be a positive integer number of bytes, got ${bytes}`);
    }
    const out = new BigUint64Array(1);
    const status = this.lib.symbols.ss_buffer_create(this.handle, bytes, ptr(out));
    if (status !== 0) throw new NativeError('ss_buffer_create', status, this.lastError());
    const buf = new NativeBuffer(this.lib, this.handle, Number(out[0]) as Pointer, bytes, (b) => {
      this.live.delete(b);
      this.liveBytes -= b.bytes;
    }, this.unifiedMemory ? null : this.times);
    this.live.add(buf);
    this.liveBytes += bytes;
    return buf;
  }

  /** A buffer holding a copy of `data`, uploaded. */
  bufferFrom(data: ArrayBufferView): NativeBuffer {
    return this.buffer(Math.max(1, data.byteLength)).write(data);
  }

  /**
   * Calls a kernel with its args struct's fields and its buffers by name (both
   * typed from the kernel table). Throws NativeError with ss_last_error on
   * failure; `allow` lists statuses the caller handles itself.
   */
  call<K extends KernelSymbol>(kernel: K, values: KernelArgs<K>, buffers: KernelBuffers<K>, allow: readonly number[] = noStatuses): number {
    const spec = kernelSpec(kernel);
    spec.args.check(this.lib);
    // the kernel's own bytes, valid until its next call: nothing below calls a kernel through call() again
    const packed = spec.args.packReused(values);
    const names = spec.bufferNames;
    const count = names.length;
    const bufs = bufferScratch(spec.symbol, count);
    const record = buffers as Record<string, unknown>;
    let status: number;
    let failed: NativeContext = this;
    try {
      for (let i = 0; i < count; i++) {
        const name = names[i] as string;
        const b = record[name];
        if (!(b instanceof NativeBuffer)) throw new TypeError(`${kernel}: buffer '${name}' is missing`);
        bufs[i] = b;
      }
      if (this.lacking.has(kernel)) {
        const cpu = this.fallbackContext();
        status = this.callOnCpu(cpu, kernel, packed, bufs);
        failed = cpu;
      } else {
        const fn = this.lib.symbols[kernel] as unknown as KernelFn;
        const h = this.handle;
        const p = ptr(packed);
        const b = bufs as NativeBuffer[];
        // the handles in order, as before; no argument array per call
        let t0: number;
        switch (count) {
          case 1: { const b0 = b[0]!.handle; t0 = performance.now(); status = fn(h, p, b0); break; }
          case 2: { const b0 = b[0]!.handle, b1 = b[1]!.handle; t0 = performance.now(); status = fn(h, p, b0, b1); break; }
          case 3: {
            const b0 = b[0]!.handle, b1 = b[1]!.handle, b2 = b[2]!.handle;
            t0 = performance.now();
            status = fn(h, p, b0, b1, b2);
            break;
          }
          case 4: {
            const b0 = b[0]!.handle, b1 = b[1]!.handle, b2 = b[2]!.handle, b3 = b[3]!.handle;
            t0 = performance.now();
            status = fn(h, p, b0, b1, b2, b3);
            break;
          }
          case 5: {
            const b0 = b[0]!.handle, b1 = b[1]!.handle, b2 = b[2]!.handle, b3 = b[3]!.handle, b4 = b[4]!.handle;
            t0 = performance.now();
            status = fn(h, p, b0, b1, b2, b3, b4);
            break;
          }
          case 6: {
            const b0 = b[0]!.handle, b1 = b[1]!.handle, b2 = b[2]!.handle, b3 = b[3]!.handle, b4 = b[4]!.handle, b5 = b[5]!.handle;
            t0 = performance.now();
            status = fn(h, p, b0, b1, b2, b3, b4, b5);
            break;
          }
          case 7: {
            const b0 = b[0]!.handle, b1 = b[1]!.handle, b2 = b[2]!.handle, b3 = b[3]!.handle, b4 = b[4]!.handle, b5 = b[5]!.handle;
            const b6 = b[6]!.handle;
            t0 = performance.now();
            status = fn(h, p, b0, b1, b2, b3, b4, b5, b6);
            break;
          }
          default: {
            const args: unknown[] = [h, p];
            for (let i = 0; i < count; i++) args.push(b[i]!.handle);
            t0 = performance.now();
            status = fn(...args);
          }
        }
        this.times.kernel(kernel, performance.now() - t0);
      }
    } finally {
      // drop the references: the scratch must not keep buffers alive between calls
      bufs.fill(null);
    }
    if (status !== 0 && !allow.includes(status)) throw new NativeError(kernel, status, failed.lastError());
    return status;
  }

  private fallbackContext(): NativeContext {
    if (this.cpu === null) this.cpu = NativeContext.open('cpu', this.requestedThreads, libraryPath('cpu'));
    const key = `${this.backendLabel}@${this.lib.symbols.ss_abi_version()}`;
    if (!announced.has(key)) {
      announced.add(key);
      process.stderr.write(`scanstream: the ${this.backendLabel} backend lacks ${this.lacking.size} of ${kernelSpecs.size} kernels; ` +
        `they run on the CPU: ${[...this.lacking].join(', ')}\n`);
    }
    return this.cpu;
  }

  /** The kernel on the CPU context over this context's buffers' memory. */
  private callOnCpu(cpu: NativeContext, kernel: KernelSymbol, packed: Uint8Array, bufs: readonly (NativeBuffer | null)[]): number {
    const t0 = performance.now();
    const spec = kernelSpec(kernel);
    spec.args.check(cpu.lib);
    if (!this.unifiedMemory) {
      // the device copy is the truth: bring every buffer to the host mirror the CPU kernel reads
      for (const b of bufs as NativeBuffer[]) {
        b.download();
        this.fallback.bytesCopied += b.bytes;
      }
    }
    const fn = cpu.lib.symbols[kernel] as unknown as (...a: unknown[]) => number;
    const status = fn(cpu.handle, ptr(packed), ...(bufs as NativeBuffer[]).map((b) => b.aliasIn(cpu.lib, cpu.handle)));
    if (!this.unifiedMemory && status === 0) {
      spec.buffers.forEach(({ role }, i) => {
        if (role === 'in') return;
        const b = bufs[i] as NativeBuffer;
        b.upload();
        this.fallback.bytesCopied += b.bytes;
      });
    }
    this.fallback.calls++;
    this.fallback.ms += performance.now() - t0;
    if (!this.fallback.kernels.includes(kernel)) this.fallback.kernels.push(kernel);
    return status;
  }

  destroy(): void {
    if (this.handlePtr === null) return;
    for (const b of [...this.live]) b.destroy();
    this.lib.symbols.ss_context_destroy(this.handlePtr);
    this.handlePtr = null;
    this.cpu?.destroy();
    this.cpu = null;
  }
}

let shared: NativeContext | null = null;

/** The process-wide default context (created on first use). */
export function defaultContext(): NativeContext {
  if (shared === null || shared.destroyed) shared = NativeContext.create();
  return shared;
}
