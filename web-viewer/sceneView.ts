/**
 * The 3D view: one three.js mesh per voxel block (replaced wholesale on a new
 * version), the camera trajectory as a line, the current camera as a
 * frustum. World coordinates are the pipeline's (camera convention x right,
 * y down, z forward), so "up" is taken from the first camera pose.
 */
import * as THREE from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
import type { Intrinsics } from '../src/geometry/intrinsics';

export class SceneView {
  private readonly renderer: THREE.WebGLRenderer;
  private readonly scene = new THREE.Scene();
  private readonly camera = new THREE.PerspectiveCamera(60, 1, 0.01, 200);
  private readonly controls: OrbitControls;
  private readonly material = new THREE.MeshLambertMaterial({ vertexColors: true, side: THREE.DoubleSide });
  private readonly blocks = new Map<string, THREE.Mesh>();
  private readonly trajectory: THREE.Line;
  private trajectoryPositions = new Float32Array(3 * 1024);
  private trajectoryCount = 0;
  private readonly frustum: THREE.LineSegments;
  private dirty = true;
  private userMoved = false;
  private upFixed = false;
  private lastFitBlocks = 0;

  private constructor(private readonly container: HTMLElement, renderer: THREE.WebGLRenderer) {
    this.renderer = renderer;
    renderer.setPixelRatio(Math.min(2, window.devicePixelRatio || 1));
    container.appendChild(renderer.domElement);
    this.scene.background = new THREE.Color(0x1b1f24);
    this.scene.add(new THREE.HemisphereLight(0xffffff, 0x30343a, 2.2));
    const sun = new THREE.DirectionalLight(0xffffff, 1.2);
    sun.position.set(1, -2, -1.5);
    this.scene.add(sun);
    this.scene.add(new THREE.AxesHelper(0.2));

    const trajGeom = new THREE.BufferGeometry();
    trajGeom.setAttribute('position', new THREE.BufferAttribute(this.trajectoryPositions, 3));
    trajGeom.setDrawRange(0, 0);
    this.trajectory = new THREE.Line(trajGeom, new THREE.LineBasicMaterial({ color: 0xffb347 }));
    this.trajectory.frustumCulled = false;
    this.scene.add(this.trajectory);

    this.frustum = new THREE.LineSegments(new THREE.BufferGeometry(), new THREE.LineBasicMaterial({ color: 0x4fb3ff }));
    this.frustum.matrixAutoUpdate = false;
    this.frustum.visible = false;
    this.frustum.frustumCulled = false;
    this.scene.add(this.frustum);

    this.camera.position.set(0, -1, -2);
    this.camera.up.set(0, -1, 0);
    this.controls = new OrbitControls(this.camera, renderer.domElement);
    this.controls.enableDamping = true;
    this.controls.addEventListener('start', () => (this.userMoved = true));
    this.controls.addEventListener('change', () => (this.dirty = true));
    new ResizeObserver(() => this.resize()).observe(container);
    this.resize();
    const loop = (): void => {
      this.controls.update();
      if (this.dirty) {
        this.dirty = false;
        this.renderer.render(this.scene, this.camera);
      }
      requestAnimationFrame(loop);
    };
    requestAnimationFrame(loop);
  }

  /** null when WebGL is unavailable (the caller shows a notice; data still flows). */
  static create(container: HTMLElement): SceneView | null {
    try {
      const probe = document.createElement('canvas');
      if (!probe.getContext('webgl2') && !probe.getContext('webgl')) return null;
      return new SceneView(container, new THREE.WebGLRenderer({ antialias: true }));
    } catch {
      return null;
    }
  }

  private resize(): void {
    const w = Math.max(1, this.container.clientWidth);
    const h = Math.max(1, this.container.clientHeight);
    this.renderer.setSize(w, h, true);
    this.camera.aspect = w / h;
    this.camera.updateProjectionMatrix();
    this.dirty = true;
  }

  setBlock(key: string, positions: Float32Array, colors: Uint8Array, indices: Uint32Array): void {
    this.removeBlock(key);
    const g = new THREE.BufferGeometry();
    g.setAttribute('position', new THREE.BufferAttribute(positions, 3));
    g.setAttribute('color', new THREE.BufferAttribute(colors, 3, true));
    g.setIndex(new THREE.BufferAttribute(indices, 1));
    g.computeVertexNormals();
    g.computeBoundingSphere();
    const mesh = new THREE.Mesh(g, this.material);
    this.blocks.set(key, mesh);
    this.scene.add(mesh);
    this.dirty = true;
  }

  removeBlock(key: string): void {
    const old = this.blocks.get(key);
    if (!old) return;
    this.scene.remove(old);
    old.geometry.dispose();
    this.blocks.delete(key);
    this.dirty = true;
  }

  clear(): void {
    for (const key of [...this.blocks.keys()]) this.removeBlock(key);
    this.trajectoryCount = 0;
    this.trajectory.geometry.setDrawRange(0, 0);
    this.frustum.visible = false;
    this.lastFitBlocks = 0;
    this.dirty = true;
  }

  setTrajectory(start: number, points: Float32Array): void {
    const count = start + points.length / 3;
    if (3 * count > this.trajectoryPositions.length) {
      let cap = this.trajectoryPositions.length;
      while (cap < 3 * count) cap *= 2;
      const grown = new Float32Array(cap);
      grown.set(this.trajectoryPositions.subarray(0, 3 * this.trajectoryCount));
      this.trajectoryPositions = grown;
      this.trajectory.geometry.setAttribute('position', new THREE.BufferAttribute(grown, 3));
    }
    this.trajectoryPositions.set(points, 3 * start);
    this.trajectoryCount = Math.max(this.trajectoryCount, count);
    const attr = this.trajectory.geometry.getAttribute('position') as THREE.BufferAttribute;
    attr.needsUpdate = true;
    this.trajectory.geometry.setDrawRange(0, this.trajectoryCount);
    this.trajectory.geometry.computeBoundingSphere();
    this.dirty = true;
  }

  /** Show the current camera: `pose` is 4×4 row-major camera-to-world. */
  setCamera(pose: Float64Array, k: Intrinsics): void {
    const d = 0.15; // frustum depth in metres: visible at room scale without hiding the mesh
    const corners = [
      [0, 0],
      [k.width, 0],
      [k.width, k.height],
      [0, k.height],
    ].map(([u, v]) => new THREE.Vector3(((u! - k.cx) / k.fx) * d, ((v! - k.cy) / k.fy) * d, d));
    const pts: number[] = [];
    const o = new THREE.Vector3();
    for (let i = 0; i < 4; i++) {
      const a = corners[i]!;
      const b = corners[(i + 1) % 4]!;
      pts.push(o.x, o.y, o.z, a.x, a.y, a.z, a.x, a.y, a.z, b.x, b.y, b.z);
    }
    this.frustum.geometry.setAttribute('position', new THREE.Float32BufferAttribute(pts, 3));
    const m = this.frustum.matrix;
    m.set(pose[0]!, pose[1]!, pose[2]!, pose[3]!, pose[4]!, pose[5]!, pose[6]!, pose[7]!, pose[8]!, pose[9]!, pose[10]!, pose[11]!, 0, 0, 0, 1);
    this.frustum.matrixWorldNeedsUpdate = true;
    this.frustum.visible = true;
    if (!this.upFixed) {
      // the first camera's "up" (its −y axis) is the scene's up
      this.upFixed = true;
      this.camera.up.set(-pose[1]!, -pose[5]!, -pose[9]!).normalize();
      this.frameView(new THREE.Vector3(pose[3]!, pose[7]!, pose[11]!), new THREE.Vector3(pose[2]!, pose[6]!, pose[10]!), 1.5);
    }
    this.dirty = true;
  }

  /** Look at `target` from behind and above, along `forward`. */
  private frameView(eye: THREE.Vector3, forward: THREE.Vector3, distance: number): void {
    const f = forward.clone().normalize();
    const target = eye.clone().addScaledVector(f, distance);
    const position = target.clone().addScaledVector(f, -distance * 1.8).addScaledVector(this.camera.up, distance * 0.8);
    this.camera.position.copy(position);
    this.controls.target.copy(target);
    this.controls.update();
  }

  /** Until the user moves the view, keep the whole mesh in frame as it grows. */
  autoFit(): void {
    if (this.userMoved || this.blocks.size === 0 || this.blocks.size < this.lastFitBlocks * 1.25) return;
    this.lastFitBlocks = this.blocks.size;
    const box = new THREE.Box3();
    for (const m of this.blocks.values()) box.expandByObject(m);
    const sphere = box.getBoundingSphere(new THREE.Sphere());
    const dir = this.camera.position.clone().sub(this.controls.target).normalize();
    const dist = sphere.radius / Math.sin((this.camera.fov * Math.PI) / 360) * 1.1;
    this.controls.target.copy(sphere.center);
    this.camera.position.copy(sphere.center).addScaledVector(dir, Math.max(dist, 0.3));
    this.controls.update();
    this.dirty = true;
  }
}
