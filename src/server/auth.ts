/** Access control: random tokens for remote access, and same-origin checks for WebSocket upgrades. */
import { timingSafeEqual } from 'node:crypto';

/** 128 random bits, URL-safe. */
export function generateToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Buffer.from(bytes).toString('base64url');
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Constant-time comparison, so the token cannot be guessed byte by byte from timings. */
export function tokenMatches(given: string | null, expected: string): boolean {
  if (given === null) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The token a request carries: ?token=… or an "Authorization: Bearer …" header. */
export function requestToken(req: Request, url: URL): string | null {
  const q = url.searchParams.get('token');
  if (q !== null) return q;
  const h = req.headers.get('authorization');
  const m = h ? /^Bearer\s+(\S+)$/i.exec(h) : null;
  return m ? m[1]! : null;
}

/**
 * Browsers send Origin on WebSocket upgrades and do not enforce same-origin
 * for them, so any page the user visits could otherwise talk to a local
 * server. Non-browser clients send no Origin and are allowed.
 */
export function originAllowed(req: Request): boolean {
  const origin = req.headers.get('origin');
  if (origin === null) return true;
  const host = req.headers.get('host');
  try {
    return host !== null && new URL(origin).host === host;
  } catch {
    return false;
  }
}
