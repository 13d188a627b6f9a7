/**
 * QR encoder checks: known answers from the standard's worked examples
 * (thonky.com's QR tutorial), and a round trip through an independent small
 * decoder written here from the spec (function-pattern map, format bits,
 * unmasking, zigzag read, de-interleaving, Reed–Solomon syndromes via
 * log/antilog tables, byte-mode parse).
 */
import { describe, expect, test } from 'bun:test';
import { encodeQr, formatBits, renderQrTerminal, rsRemainder, versionBits, type QrCode } from '../../src/server/qr';

// ── an independent decoder ───────────────────────────────────────────────
const EXP = new Array<number>(512);
const LOG = new Array<number>(256);
{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= 0x11d;
  }
  for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255]!;
}
const mul = (a: number, b: number): number => (a === 0 || b === 0 ? 0 : EXP[LOG[a]! + LOG[b]!]!);

const M_FORMAT = ['101010000010010', '101000100100101', '101111001111100', '101101101001011', '100010111111001', '100000011001110', '100111110010111', '100101010100000'];
const BLOCKS_M: Record<number, [number, number, number, number]> = {
  1: [16, 1, 0, 10], 2: [28, 1, 0, 16], 3: [44, 1, 0, 26], 4: [32, 2, 0, 18], 5: [43, 2, 0, 24],
  6: [27, 4, 0, 16], 7: [31, 4, 0, 18], 8: [38, 2, 2, 22], 9: [36, 3, 2, 22], 10: [43, 4, 1, 26],
};
const ALIGN: Record<number, number[]> = { 1: [], 2: [6, 18], 3: [6, 22], 4: [6, 26], 5: [6, 30], 6: [6, 34], 7: [6, 22, 38], 8: [6, 24, 42], 9: [6, 26, 46], 10: [6, 28, 50] };

function isFunction(x: number, y: number, n: number, version: number): boolean {
  if ((x <= 8 && y <= 8) || (x >= n - 8 && y <= 8) || (x <= 8 && y >= n - 8)) return true; // finders, separators, format
  if (x === 6 || y === 6) return true;
  if (version >= 7 && ((x >= n - 11 && x <= n - 9 && y <= 5) || (y >= n - 11 && y <= n - 9 && x <= 5))) return true;
  const a = ALIGN[version]!;
  for (const ax of a) {
    for (const ay of a) {
      if ((ax === 6 && ay === 6) || (ax === 6 && ay === a.at(-1)) || (ax === a.at(-1) && ay === 6)) continue;
      if (Math.abs(x - ax) <= 2 && Math.abs(y - ay) <= 2) return true;
    }
  }
  return false;
}

function decode(qr: QrCode): { text: string; mask: number; syndromesZero: boolean } {
  const n = qr.size;
  const version = (n - 17) / 4;
  const m = (x: number, y: number): number => (qr.modules[y]![x]! ? 1 : 0);
  // format: first copy, MSB at (x=0, y=8) going right, skipping the timing column, then up column 8
  const coords: [number, number][] = [];
  for (let x = 0; x <= 5; x++) coords.push([x, 8]);
  coords.push([7, 8], [8, 8], [8, 7]);
  for (let y = 5; y >= 0; y--) coords.push([8, y]);
  const fmt = coords.map(([x, y]) => m(x, y)).join('');
  const second: string[] = [];
  for (let y = n - 1; y >= n - 7; y--) second.push(String(m(8, y)));
  for (let x = n - 8; x < n; x++) second.push(String(m(x, 8)));
  if (second.join('') !== fmt) throw new Error(`format copies differ: ${fmt} vs ${second.join('')}`);
  const mask = M_FORMAT.indexOf(fmt);
  if (mask < 0) throw new Error(`format ${fmt} is not a level-M format string`);
  const maskFn = [
    (x: number, y: number) => (x + y) % 2 === 0,
    (_: number, y: number) => y % 2 === 0,
    (x: number) => x % 3 === 0,
    (x: number, y: number) => (x + y) % 3 === 0,
    (x: number, y: number) => (Math.floor(y / 2) + Math.floor(x / 3)) % 2 === 0,
    (x: number, y: number) => ((x * y) % 2) + ((x * y) % 3) === 0,
    (x: number, y: number) => (((x * y) % 2) + ((x * y) % 3)) % 2 === 0,
    (x: number, y: number) => (((x + y) % 2) + ((x * y) % 3)) % 2 === 0,
  ][mask]!;
  // zigzag: column pairs from the right, alternating up and down, skipping the vertical timing column
  const bits: number[] = [];
  let upward = true;
  for (let right = n - 1; right > 0; right -= 2) {
    if (right === 6) right--;
    for (let k = 0; k < n; k++) {
      const y = upward ? n - 1 - k : k;
      for (const x of [right, right - 1]) if (!isFunction(x, y, n, version)) bits.push(m(x, y) ^ (maskFn(x, y) ? 1 : 0));
    }
    upward = !upward;
  }
  const words: number[] = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) words.push(bits.slice(i, i + 8).reduce((a, b) => (a << 1) | b, 0));
  const [short, g1, g2, ec] = BLOCKS_M[version]!;
  const nb = g1 + g2;
  const blocks: number[][] = Array.from({ length: nb }, () => []);
  let p = 0;
  for (let i = 0; i <= short; i++) for (let b = 0; b < nb; b++) if (i < short || b >= g1) blocks[b]!.push(words[p++]!);
  for (let i = 0; i < ec; i++) for (let b = 0; b < nb; b++) blocks[b]!.push(words[p++]!);
  // a valid codeword polynomial vanishes at α^0 … α^(ec−1)
  let syndromesZero = true;
  for (const cw of blocks) {
    for (let i = 0; i < ec; i++) {
      let s = 0;
      for (const c of cw) s = mul(s, EXP[i]!) ^ c;
      if (s !== 0) syndromesZero = false;
    }
  }
  const data = blocks.flatMap((b) => b.slice(0, b.length - ec));
  const dbits = data.flatMap((w) => [7, 6, 5, 4, 3, 2, 1, 0].map((i) => (w >> i) & 1));
  const read = (o: number, len: number): number => dbits.slice(o, o + len).reduce((a, b) => (a << 1) | b, 0);
  if (read(0, 4) !== 0b0100) throw new Error('not byte mode');
  const cbits = version <= 9 ? 8 : 16;
  const count = read(4, cbits);
  const bytes = Array.from({ length: count }, (_, i) => read(4 + cbits + 8 * i, 8));
  return { text: new TextDecoder().decode(new Uint8Array(bytes)), mask, syndromesZero };
}

describe('QR code', () => {
  test('known answers: Reed–Solomon, format and version bits', () => {
    // "HELLO WORLD" 1-M data codewords and their EC codewords (thonky.com, "Error Correction Coding")
    const data = [32, 91, 11, 120, 209, 114, 220, 77, 67, 64, 236, 17, 236, 17, 236, 17];
    expect(rsRemainder(data, 10)).toEqual([196, 35, 39, 119, 235, 215, 231, 226, 93, 23]);
    for (let mask = 0; mask < 8; mask++) expect(formatBits(mask).toString(2).padStart(15, '0')).toBe(M_FORMAT[mask]!);
    expect(versionBits(7).toString(2).padStart(18, '0')).toBe('000111110010010100');
  });

  test('round-trips URLs of every length up to version 10', () => {
    const urls = [
      'http://127.0.0.1:8080/',
      'https://192.168.1.23:8080/?token=Zx3k9VbQe2mLr8TnW0aYpA',
      `https://scanstream-workstation.local:8443/?token=${'A'.repeat(40)}`,
      `https://10.0.0.5:8080/?token=${'q'.repeat(170)}`,
    ];
    const versions: number[] = [];
    for (const url of urls) {
      const qr = encodeQr(url);
      const d = decode(qr);
      expect(d.text).toBe(url);
      expect(d.syndromesZero).toBe(true);
      expect(d.mask).toBe(qr.mask);
      versions.push(qr.version);
      // finder pattern corners: dark 7×7 ring, light ring, dark 3×3 core
      for (const [ox, oy] of [[0, 0], [qr.size - 7, 0], [0, qr.size - 7]] as const) {
        expect(qr.modules[oy]![ox]).toBe(true);
        expect(qr.modules[oy + 1]![ox + 1]).toBe(false);
        expect(qr.modules[oy + 3]![ox + 3]).toBe(true);
      }
    }
    expect(versions[0]).toBeLessThan(versions[3]!);
    expect(versions[3]).toBeGreaterThanOrEqual(7); // exercises version information
    expect(() => encodeQr('x'.repeat(300))).toThrow(/too long/);
  });

  test('terminal rendering: two module rows per line with a quiet zone', () => {
    const qr = encodeQr('https://192.168.1.23:8080/?token=abc');
    const lines = renderQrTerminal(qr).split('\n');
    expect(lines.length).toBe(Math.ceil((qr.size + 8) / 2));
    const plain = lines[0]!.replace(/\x1b\[[0-9;]*m/g, '');
    expect(plain).toBe('█'.repeat(qr.size + 8)); // the quiet zone is light
  });
});
