/**
 * The whole surface as one indexed mesh from the blocks' meshes: a vertex on
 * a block seam is computed identically (bit for bit) by both blocks, so
 * merging equal float bit patterns makes the mesh connected.
 */
import type { TriangleSoup } from '../geometry/mesh';
import type { MeshBlock } from './meshBlock';

export function mergeBlockMeshes(blocks: readonly MeshBlock[]): TriangleSoup {
  let nv = 0, ni = 0;
  for (const b of blocks) {
    nv += b.positions.length / 3;
    ni += b.indices.length;
  }
  const positions = new Float32Array(nv * 3);
  const colors = new Uint8Array(nv * 3);
  const indices = new Uint32Array(ni);
  // seam vertices are bit-identical in both blocks: dedupe on the float bit patterns
  const bits = new Uint32Array(positions.buffer);
  let cap = 1;
  while (cap < nv * 2) cap *= 2;
  const table = new Int32Array(cap).fill(-1);
  const mask = cap - 1;
  let largest = 1;
  for (const b of blocks) largest = Math.max(largest, b.positions.length / 3);
  const remap = new Uint32Array(largest);
  let v = 0, i = 0;
  for (const b of blocks) {
    const count = b.positions.length / 3;
    const src = new Uint32Array(b.positions.buffer, b.positions.byteOffset, count * 3);
    for (let k = 0; k < count; k++) {
      const x = src[3 * k] as number, y = src[3 * k + 1] as number, z = src[3 * k + 2] as number;
      let h = (Math.imul(x, 0x9e3779b1) ^ Math.imul(y, 0x85ebca77) ^ Math.imul(z, 0xc2b2ae3d)) >>> 0;
      h = (h ^ (h >>> 15)) & mask;
      let at = -1;
      for (;;) {
        const slot = table[h] as number;
        if (slot < 0) break;
        if (bits[3 * slot] === x && bits[3 * slot + 1] === y && bits[3 * slot + 2] === z) {
          at = slot;
          break;
        }
        h = (h + 1) & mask;
      }
      if (at < 0) {
        at = v++;
        table[h] = at;
        bits[3 * at] = x;
        bits[3 * at + 1] = y;
        bits[3 * at + 2] = z;
        colors[3 * at] = b.colors[3 * k] as number;
        colors[3 * at + 1] = b.colors[3 * k + 1] as number;
        colors[3 * at + 2] = b.colors[3 * k + 2] as number;
      }
      remap[k] = at;
    }
    for (let k = 0; k < b.indices.length; k++) indices[i++] = remap[b.indices[k] as number] as number;
  }
  return { positions: positions.slice(0, v * 3), colors: colors.slice(0, v * 3), indices };
}
