/** Status codes of the C ABI (native/include/scanstream.h). */
export const Status = {
  OK: 0,
  INVALID_ARGUMENT: 1,
  OUT_OF_MEMORY: 2,
  CAPACITY: 3,
  BACKEND: 4,
  UNSUPPORTED: 5,
  INTERNAL: 6,
} as const;

const statusNames: Record<number, string> = {
  1: 'invalid argument',
  2: 'out of memory',
  3: 'output capacity exceeded',
  4: 'backend failure',
  5: 'unsupported',
  6: 'internal error',
};

/** A native call failed; `message` carries ss_last_error and the call's name. */
export class NativeError extends Error {
  readonly status: number;
  readonly call: string;
  constructor(call: string, status: number, detail: string) {
    super(`${call}: ${statusNames[status] ?? `status ${status}`}${detail ? ` — ${detail}` : ''}`);
    this.name = 'NativeError';
    this.status = status;
    this.call = call;
  }
}

/** The native library could not be found, built or loaded. */
export class NativeLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NativeLoadError';
  }
}

/** A native object was used after destroy(). */
export class UseAfterDestroyError extends Error {
  constructor(what: string) {
    super(`${what} was used after destroy()`);
    this.name = 'UseAfterDestroyError';
  }
}
