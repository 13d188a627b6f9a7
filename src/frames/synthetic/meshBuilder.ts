/** Growable triangle mesh with per-vertex normals, for building truth surfaces. */
import type { TriangleMesh } from '../../geometry/mesh';

export class MeshBuilder {
  private positions: number[] = [];
  private normals: number[] = [];
  private indices: number[] = [];

  get vertexCount(): number {
    return this.positions.length / 3;
  }

  vertex(x: number, y: number, z: number, nx: number, ny: number, nz: number): number {
    this.positions.push(x, y, z);
    this.normals.push(nx, ny, nz);
    return this.positions.length / 3 - 1;
  }

  triangle(a: number, b: number, c: number): void {
    this.indices.push(a, b, c);
  }

  /**
   * A grid of (nu+1)×(nv+1) vertices given by `at(i/nu, j/nv)`; each cell is
   * split along its shorter diagonal; `flip` reverses the winding so the
   * triangles face the given normals.
   */
  grid(nu: number, nv: number, at: (s: number, t: number, out: Float64Array) => void, flip: boolean): void {
    const base = this.vertexCount;
    const p = new Float64Array(6);
    for (let j = 0; j <= nv; j++) for (let i = 0; i <= nu; i++) {
      at(i / nu, j / nv, p);
      this.vertex(p[0]!, p[1]!, p[2]!, p[3]!, p[4]!, p[5]!);
    }
    const id = (i: number, j: number): number => base + j * (nu + 1) + i;
    for (let j = 0; j < nv; j++) for (let i = 0; i < nu; i++) {
      const a = id(i, j), b = id(i + 1, j), c = id(i + 1, j + 1), d = id(i, j + 1);
      const ac = this.dist2(a, c), bd = this.dist2(b, d);
      const tris = ac <= bd ? [[a, b, c], [a, c, d]] : [[a, b, d], [b, c, d]];
      for (const [x, y, z] of tris) {
        if (flip) this.triangle(x!, z!, y!);
        else this.triangle(x!, y!, z!);
      }
    }
  }

  private dist2(a: number, b: number): number {
    const p = this.positions;
    return (p[3 * a]! - p[3 * b]!) ** 2 + (p[3 * a + 1]! - p[3 * b + 1]!) ** 2 + (p[3 * a + 2]! - p[3 * b + 2]!) ** 2;
  }

  build(): TriangleMesh {
    return { positions: Float32Array.from(this.positions), normals: Float32Array.from(this.normals), indices: Uint32Array.from(this.indices) };
  }
}
