/**
 * Exact point-to-triangle-mesh distance through a uniform grid of triangle
 * bounding boxes. Queries search outward shell by shell and stop once the
 * best distance found is closer than any unsearched cell can be.
 */
export class TriangleGrid {
  private readonly cell: number;
  private readonly min: [number, number, number];
  private readonly dims: [number, number, number];
  private readonly cellStart: Uint32Array;
  private readonly cellItems: Uint32Array;
  private readonly tri: Float64Array;
  readonly triangleCount: number;

  constructor(positions: Float32Array, indices: Uint32Array, cellSize: number) {
    if (indices.length % 3 !== 0) throw new RangeError('indices length must be a multiple of 3');
    if (!(cellSize > 0)) throw new RangeError('cellSize must be > 0');
    const nt = indices.length / 3;
    this.triangleCount = nt;
    this.cell = cellSize;
    this.tri = new Float64Array(nt * 9);
    const lo = [Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity];
    for (let t = 0; t < nt; t++) {
      for (let k = 0; k < 3; k++) {
        const v = indices[3 * t + k] as number;
        for (let a = 0; a < 3; a++) {
          const c = positions[3 * v + a] as number;
          this.tri[9 * t + 3 * k + a] = c;
          if (c < (lo[a] as number)) lo[a] = c;
          if (c > (hi[a] as number)) hi[a] = c;
        }
      }
    }
    if (nt === 0) {
      lo.fill(0);
      hi.fill(0);
    }
    this.min = [lo[0] as number, lo[1] as number, lo[2] as number];
    this.dims = [0, 1, 2].map((a) => Math.max(1, Math.floor(((hi[a] as number) - (lo[a] as number)) / cellSize) + 1)) as [number, number, number];
    const ncell = this.dims[0] * this.dims[1] * this.dims[2];
    if (ncell > 64e6) throw new RangeError(`TriangleGrid: ${ncell} cells is too many; use a larger cell size`);
    const counts = new Uint32Array(ncell + 1);
    this.forEachCell(nt, (c) => { counts[c + 1] = (counts[c + 1] as number) + 1; });
    for (let c = 0; c < ncell; c++) counts[c + 1] = (counts[c + 1] as number) + (counts[c] as number);
    this.cellStart = counts;
    this.cellItems = new Uint32Array(counts[ncell] as number);
    const fill = counts.slice(0, ncell);
    this.forEachCell(nt, (c, t) => {
      this.cellItems[fill[c] as number] = t;
      fill[c] = (fill[c] as number) + 1;
    });
  }

  private forEachCell(nt: number, fn: (cell: number, tri: number) => void): void {
    const [dx, dy] = this.dims;
    for (let t = 0; t < nt; t++) {
      const b = 9 * t;
      const lo = [0, 0, 0], hi = [0, 0, 0];
      for (let a = 0; a < 3; a++) {
        const v0 = this.tri[b + a] as number, v1 = this.tri[b + 3 + a] as number, v2 = this.tri[b + 6 + a] as number;
        lo[a] = this.cellOf(Math.min(v0, v1, v2), a);
        hi[a] = this.cellOf(Math.max(v0, v1, v2), a);
      }
      for (let z = lo[2] as number; z <= (hi[2] as number); z++) {
        for (let y = lo[1] as number; y <= (hi[1] as number); y++) {
          for (let x = lo[0] as number; x <= (hi[0] as number); x++) fn((z * dy + y) * dx + x, t);
        }
      }
    }
  }

  private cellOf(v: number, axis: number): number {
    const c = Math.floor((v - (this.min[axis] as number)) / this.cell);
    return Math.min(Math.max(c, 0), (this.dims[axis] as number) - 1);
  }

  /** distance from p to the nearest triangle, or maxDistance when none is that close */
  distance(px: number, py: number, pz: number, maxDistance: number): number {
    if (this.triangleCount === 0) return maxDistance;
    const [dx, dy, dz] = this.dims;
    const cx = Math.floor((px - this.min[0]) / this.cell);
    const cy = Math.floor((py - this.min[1]) / this.cell);
    const cz = Math.floor((pz - this.min[2]) / this.cell);
    let best2 = maxDistance * maxDistance;
    const maxRing = Math.ceil(maxDistance / this.cell) + 1;
    for (let ring = 0; ring <= maxRing; ring++) {
      // cells at Chebyshev ring r are at least (r-1)·cell away from p
      const reach = (ring - 1) * this.cell;
      if (ring > 0 && reach > 0 && reach * reach >= best2) break;
      for (let z = cz - ring; z <= cz + ring; z++) {
        if (z < 0 || z >= dz) continue;
        for (let y = cy - ring; y <= cy + ring; y++) {
          if (y < 0 || y >= dy) continue;
          const onShellYZ = Math.abs(z - cz) === ring || Math.abs(y - cy) === ring;
          for (let x = cx - ring; x <= cx + ring; x += onShellYZ || ring === 0 ? 1 : 2 * ring) {
            if (x < 0 || x >= dx) continue;
            const c = (z * dy + y) * dx + x;
            for (let k = this.cellStart[c] as number, e = this.cellStart[c + 1] as number; k < e; k++) {
              const d2 = this.pointTriangle2(px, py, pz, this.cellItems[k] as number);
              if (d2 < best2) best2 = d2;
            }
          }
        }
      }
    }
    return Math.sqrt(best2);
  }

  /** squared distance point–triangle (Ericson, Real-Time Collision Detection §5.1.5) */
  private pointTriangle2(px: number, py: number, pz: number, t: number): number {
    const T = this.tri, b = 9 * t;
    const ax = T[b] as number, ay = T[b + 1] as number, az = T[b + 2] as number;
    const abx = (T[b + 3] as number) - ax, aby = (T[b + 4] as number) - ay, abz = (T[b + 5] as number) - az;
    const acx = (T[b + 6] as number) - ax, acy = (T[b + 7] as number) - ay, acz = (T[b + 8] as number) - az;
    const apx = px - ax, apy = py - ay, apz = pz - az;
    const d1 = abx * apx + aby * apy + abz * apz, d2 = acx * apx + acy * apy + acz * apz;
    let qx: number, qy: number, qz: number;
    if (d1 <= 0 && d2 <= 0) { qx = ax; qy = ay; qz = az; } else {
      const bpx = px - ax - abx, bpy = py - ay - aby, bpz = pz - az - abz;
      const d3 = abx * bpx + aby * bpy + abz * bpz, d4 = acx * bpx + acy * bpy + acz * bpz;
      const cpx = px - ax - acx, cpy = py - ay - acy, cpz = pz - az - acz;
      const d5 = abx * cpx + aby * cpy + abz * cpz, d6 = acx * cpx + acy * cpy + acz * cpz;
      const vc = d1 * d4 - d3 * d2, vb = d5 * d2 - d1 * d6, va = d3 * d6 - d5 * d4;
      if (d3 >= 0 && d4 <= d3) { qx = ax + abx; qy = ay + aby; qz = az + abz; }
      else if (d6 >= 0 && d5 <= d6) { qx = ax + acx; qy = ay + acy; qz = az + acz; }
      else if (vc <= 0 && d1 >= 0 && d3 <= 0) { const v = d1 / (d1 - d3); qx = ax + v * abx; qy = ay + v * aby; qz = az + v * abz; }
      else if (vb <= 0 && d2 >= 0 && d6 <= 0) { const w = d2 / (d2 - d6); qx = ax + w * acx; qy = ay + w * acy; qz = az + w * acz; }
      else if (va <= 0 && d4 - d3 >= 0 && d5 - d6 >= 0) {
        const w = (d4 - d3) / (d4 - d3 + (d5 - d6));
        qx = ax + abx + w * (acx - abx); qy = ay + aby + w * (acy - aby); qz = az + abz + w * (acz - abz);
      } else {
        const denom = 1 / (va + vb + vc), v = vb * denom, w = vc * denom;
        qx = ax + abx * v + acx * w; qy = ay + aby * v + acy * w; qz = az + abz * v + acz * w;
      }
    }
    const ex = px - qx, ey = py - qy, ez = pz - qz;
    return ex * ex + ey * ey + ez * ez;
  }
}
