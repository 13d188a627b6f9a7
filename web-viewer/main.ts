/** Viewer entry: connects to /ws, keeps the model, drives the 3D view and the side panel. */
import type { DataMessage } from '../src/server/dataMessages';
import type { ServerMessage } from '../src/server/protocol';
import { CameraCapture, focalFromFov } from './cameraCapture';
import { Connection } from './connection';
import { SceneView } from './sceneView';
import { blockKeyOf, ViewerModel, type ViewerSnapshot } from './viewerModel';

declare global {
  interface Window {
    /** read-only view of the viewer's state, for tests and the curious */
    scanstream?: { snapshot(): ViewerSnapshot };
  }
}

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`viewer: #${id} missing from index.html`);
  return el as T;
};
const text = (id: string, value: string | number): void => {
  $(id).textContent = String(value);
};

const model = new ViewerModel();
const view = SceneView.create($('view'));
if (!view) {
  const notice = $('notice');
  notice.textContent = 'WebGL is not available in this browser, so the 3D view is off. Stats, frames and controls still work.';
  notice.classList.add('show');
}

const token = new URLSearchParams(location.search).get('token');
const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws${token ? `?token=${encodeURIComponent(token)}` : ''}`;

function showMessage(m: string): void {
  model.addError(m);
  text('messages', m);
}

// ── panel ────────────────────────────────────────────────────────────────
let panelDirty = true;
function renderPanel(): void {
  panelDirty = false;
  text('stat-blocks', model.blocks.size.toLocaleString());
  text('stat-triangles', model.triangles.toLocaleString());
  text('stat-trajectory', model.trajectory.toLocaleString());
  const s = model.stats;
  text('stat-frame', model.pose ? model.pose.frameIndex : '–');
  text('stat-tracking', s?.trackingState ?? model.pose?.trackingState ?? '–');
  text('stat-fps', s ? s.fps.toFixed(1) : '–');
  text('stat-dropped', s?.dropped ?? 0);
  const timings = $('stat-timings');
  timings.replaceChildren(
    ...Object.entries(s?.timings ?? {}).map(([stage, ms]) => {
      const tr = document.createElement('tr');
      const a = document.createElement('td');
      const b = document.createElement('td');
      a.textContent = stage;
      b.textContent = ms.toFixed(1);
      tr.append(a, b);
      return tr;
    }),
  );
  const st = model.status;
  text('source', st ? st.source : '');
  text('source-state', st ? st.state : '');
  $('btn-pause').textContent = st?.state === 'paused' ? 'Resume' : 'Pause';
  const rec = $('btn-record');
  rec.textContent = st?.recording ? 'Stop recording' : 'Record';
  rec.classList.toggle('on', !!st?.recording);
  rec.title = st?.recording ?? '';
  const cam = $('btn-camera');
  cam.textContent = capture.running ? 'Stop camera' : "Use this device's camera";
  cam.classList.toggle('on', capture.running);
}
const markPanel = (): void => {
  panelDirty = true;
};
setInterval(() => {
  if (panelDirty) renderPanel();
  view?.autoFit();
}, 100);

let bytesWindow = 0;
setInterval(() => {
  text('stat-rate', `${(bytesWindow / 1024).toFixed(1)} kB/s`);
  bytesWindow = 0;
}, 1000);

// ── messages ─────────────────────────────────────────────────────────────
let frameUrl: string | null = null;

function onData(m: DataMessage): void {
  switch (m.kind) {
    case 'meshBlock': {
      const r = model.applyBlock(m);
      if (r === 'set') view?.setBlock(blockKeyOf(m), m.positions, m.colors, m.indices);
      else if (r === 'remove') view?.removeBlock(blockKeyOf(m));
      break;
    }
    case 'pose':
      model.pose = m;
      view?.setCamera(m.pose, m.intrinsics);
      break;
    case 'trajectory':
      model.trajectory = Math.max(model.trajectory, m.start + m.points.length / 3);
      view?.setTrajectory(m.start, m.points);
      break;
    case 'frame': {
      const url = URL.createObjectURL(new Blob([m.jpeg.slice()], { type: 'image/jpeg' }));
      const img = $<HTMLImageElement>('frame');
      img.src = url;
      img.dataset.frameIndex = String(m.frameIndex);
      if (frameUrl) URL.revokeObjectURL(frameUrl);
      frameUrl = url;
      break;
    }
    case 'stats':
      model.stats = m;
      break;
    case 'cameraFrame':
      break;
  }
  markPanel();
}

function onControl(m: ServerMessage): void {
  switch (m.type) {
    case 'welcome':
      // a reconnect gets the whole scene again; start from nothing so removals while away cannot linger
      model.clear();
      view?.clear();
      model.clientId = m.clientId;
      model.status = m.status;
      break;
    case 'status':
      if (m.status.message && m.status.message !== model.status?.message) showMessage(m.status.message);
      model.status = m.status;
      break;
    case 'snapshot':
      if (m.phase === 'end') model.snapshotsCompleted++;
      break;
    case 'reset':
      model.clear();
      view?.clear();
      break;
    case 'error':
      showMessage(`server: ${m.message}`);
      break;
    case 'export': {
      const a = document.createElement('a');
      a.href = m.url;
      a.download = 'scanstream-mesh.ply';
      document.body.append(a);
      a.click();
      a.remove();
      break;
    }
    case 'ack':
    case 'pong':
      break;
  }
  markPanel();
}

const connection = new Connection(wsUrl, {
  onOpen() {
    model.connected = true;
    const conn = $('conn');
    conn.textContent = 'live';
    conn.className = 'up';
    connection.send({ type: 'hello', client: 'scanstream-viewer' });
    markPanel();
  },
  onClose(reason) {
    model.connected = false;
    const conn = $('conn');
    conn.textContent = `${reason} · reconnecting…`;
    conn.className = 'down';
    if (capture.running) capture.stop();
    markPanel();
  },
  onControl,
  onData,
  onProtocolError: (e) => showMessage(`protocol: ${e}`),
  onBytes(n) {
    model.bytesReceived += n;
    bytesWindow += n;
  },
});

// ── controls ─────────────────────────────────────────────────────────────
const fovInput = $<HTMLInputElement>('cam-fov');
const fxInput = $<HTMLInputElement>('cam-fx');
const fpsInput = $<HTMLInputElement>('cam-fps');
let fxEdited = false;
const syncFx = (): void => {
  if (!fxEdited) fxInput.value = focalFromFov(640, Number(fovInput.value) || 60).toFixed(0);
};
fovInput.addEventListener('input', syncFx);
fxInput.addEventListener('input', () => (fxEdited = fxInput.value !== ''));
syncFx();

const capture = new CameraCapture(
  $<HTMLVideoElement>('camera-video'),
  {
    start: (k) => connection.send({ type: 'cameraStart', ...k }),
    frame: (d) => connection.sendBinary(d),
    bufferedAmount: () => connection.bufferedAmount,
  },
  () => ({ fovDeg: Number(fovInput.value) || 60, fx: fxEdited ? Number(fxInput.value) || null : null, fps: Number(fpsInput.value) || 10 }),
);

$('btn-pause').addEventListener('click', () => connection.send({ type: model.status?.state === 'paused' ? 'resume' : 'pause' }));
$('btn-reset').addEventListener('click', () => connection.send({ type: 'reset' }));
$('btn-export').addEventListener('click', () => connection.send({ type: 'exportMesh' }));
$('btn-record').addEventListener('click', () => connection.send({ type: model.status?.recording ? 'stopRecording' : 'startRecording' }));
$('btn-camera').addEventListener('click', () => {
  if (capture.running) {
    capture.stop();
    connection.send({ type: 'cameraStop' });
    markPanel();
    return;
  }
  const why = CameraCapture.available();
  if (why) {
    showMessage(why);
    return;
  }
  capture.start().then(markPanel, (e: unknown) => {
    capture.stop();
    showMessage(`camera: ${(e as Error).message}`);
  });
});

window.scanstream = { snapshot: () => model.snapshot(view !== null) };
connection.connect();
