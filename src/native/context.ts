import { ptr, type Pointer } from 'bun:ffi';
import type { ArgsLayout, ArgsStruct, ArgsValues } from './args';
import { NativeBuffer } from './buffer';
import { NativeError, UseAfterDestroyError } from './errors';
import { loadLibrary, resolveBackend, type BackendChoice, type BackendName, type NativeLibrary } from './library';
import type { KernelSymbol } from './symbols';

const backendCodes: Record<BackendName, number> = { cpu: 1, cuda: 2, metal: 3 };

/** backends that 'auto' found built but could not start in this process: said once, then skipped */
const cannotStart = new Set<BackendName>();

export interface ContextOptions {
  /** cpu | cuda | metal | auto (default: SCANSTREAM_BACKEND, else auto) */
  backend?: BackendChoice;
  /** worker threads for the CPU backend; 0 = one per core */
  threads?: number;
}

/** A backend instance: owns its buffers; destroy() frees them all. */
export class NativeContext {
  readonly lib: NativeLibrary;
  readonly backend: BackendName;
  readonly threads: number;
  private handlePtr: Pointer | null;
  private readonly live = new Set<NativeBuffer>();
  private liveBytes = 0;

  private constructor(lib: NativeLibrary, backend: BackendName, handle: Pointer) {
    this.lib = lib;
    this.backend = backend;
    this.handlePtr = handle;
    this.threads = lib.symbols.ss_context_threads(handle);
  }

  static create(options: ContextOptions = {}): NativeContext {
    const envChoice = process.env.SCANSTREAM_BACKEND as BackendChoice | undefined;
    const choice = options.backend ?? envChoice ?? 'auto';
    if (!['cpu', 'cuda', 'metal', 'auto'].includes(choice)) {
      throw new TypeError(`SCANSTREAM_BACKEND must be cpu, cuda, metal or auto; got '${choice}'`);
    }
    const backend = resolveBackend(choice);
    if (choice === 'auto' && cannotStart.has(backend)) return NativeContext.open('cpu', options.threads ?? 0);
    try {
      return NativeContext.open(backend, options.threads ?? 0);
    } catch (e) {
      // 'auto' found a GPU library, but this machine cannot run it (no device, no driver): the CPU always can
      if (choice !== 'auto' || backend === 'cpu' || process.env.SCANSTREAM_LIB) throw e;
      cannotStart.add(backend);
      process.stderr.write(`scanstream: the ${backend} backend is built but cannot start here (${(e as Error).message}); using the CPU backend\n`);
      return NativeContext.open('cpu', options.threads ?? 0);
    }
  }

  private static open(backend: BackendName, threads: number): NativeContext {
    const lib = loadLibrary(backend);
    const out = new BigUint64Array(1);
    const status = lib.symbols.ss_context_create(backendCodes[backend], threads, ptr(out));
    if (status !== 0 || out[0] === 0n) {
      throw new NativeError('ss_context_create', status, `cannot create a ${backend} context`);
    }
    return new NativeContext(lib, backend, Number(out[0]) as Pointer);
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
    });
    this.live.add(buf);
    this.liveBytes += bytes;
    return buf;
  }

  /** A buffer holding a copy of `data`, uploaded. */
  bufferFrom(data: ArrayBufferView): NativeBuffer {
    return this.buffer(Math.max(1, data.byteLength)).write(data);
  }

  /**
   * Calls a kernel: (ctx, args, ...buffers) → status. Throws NativeError with
   * ss_last_error on failure; `allow` lists statuses the caller handles itself.
   */
  call<L extends ArgsLayout>(
    symbol: KernelSymbol,
    args: ArgsStruct<L>,
    values: ArgsValues<L>,
    buffers: readonly NativeBuffer[],
    allow: readonly number[] = [],
  ): number {
    args.check(this.lib);
    const packed = args.pack(values);
    const fn = this.lib.symbols[symbol] as unknown as (...a: unknown[]) => number;
    const status = fn(this.handle, ptr(packed), ...buffers.map((b) => b.handle));
    if (status !== 0 && !allow.includes(status)) throw new NativeError(symbol, status, this.lastError());
    return status;
  }

  destroy(): void {
    if (this.handlePtr === null) return;
    for (const b of [...this.live]) b.destroy();
    this.lib.symbols.ss_context_destroy(this.handlePtr);
    this.handlePtr = null;
  }
}

let shared: NativeContext | null = null;

/** The process-wide default context (created on first use). */
export function defaultContext(): NativeContext {
  if (shared === null || shared.destroyed) shared = NativeContext.create();
  return shared;
}
