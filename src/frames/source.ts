/**
 * Source specs, as the CLI and the server take them:
 *   tum:PATH[?intrinsics=fr1&depthScale=5000&onBadFrame=skip]
 *   recording:PATH[?onBadFrame=skip]
 *   synthetic:room|tabletop[?frames=60&noise=0.0015&seed=7]
 * Query parameters override `opts`. A malformed spec throws a SourceError at
 * once (before any stream exists); reading errors arrive through the Observable.
 */
import type { Observable } from 'rxjs';
import { formatZodIssues, SyntheticOptionsSchema, SyntheticSceneNameSchema, type PaceMode, type SyntheticOptionsInput } from '../config';
import { SourceError, type BadFramePolicy, type WarningSink } from './errors';
import type { Frame } from './frame';
import { pace } from './pacing';
import { recordingSource } from './recording';
import { syntheticSource } from './synthetic/source';
import { tumSource, type TumOptions } from './tum';

export const SOURCE_SCHEMES = ['tum', 'recording', 'synthetic'] as const;
export type SourceScheme = (typeof SOURCE_SCHEMES)[number];

export interface SourceSpec {
  scheme: SourceScheme;
  /** folder (tum, recording) or scene name (synthetic) */
  target: string;
  params: Record<string, string>;
}

export interface OpenSourceOptions {
  onBadFrame?: BadFramePolicy;
  onWarning?: WarningSink;
  /** tum: fr1|fr2|fr3|fx,fy,cx,cy|PATH.json */
  intrinsics?: string;
  /** tum: depth units per metre */
  depthScale?: number;
  /** synthetic: defaults under the spec's own parameters */
  synthetic?: SyntheticOptionsInput;
  /** default 'fast' (every frame, deterministic) */
  pace?: PaceMode;
}

export function parseSourceSpec(spec: string): SourceSpec {
  const colon = spec.indexOf(':');
  const scheme = colon > 0 ? spec.slice(0, colon) : '';
  if (!(SOURCE_SCHEMES as readonly string[]).includes(scheme)) {
    throw new SourceError(`unknown source '${spec}': expected tum:PATH, recording:PATH or synthetic:room|tabletop`);
  }
  const rest = spec.slice(colon + 1);
  const q = rest.indexOf('?');
  const target = q >= 0 ? rest.slice(0, q) : rest;
  if (target === '') throw new SourceError(`source '${spec}': expected a ${scheme === 'synthetic' ? 'scene name' : 'folder'} after '${scheme}:'`);
  const params: Record<string, string> = {};
  if (q >= 0) for (const [k, v] of new URLSearchParams(rest.slice(q + 1))) params[k] = v;
  return { scheme: scheme as SourceScheme, target, params };
}

function numberParam(spec: string, key: string, value: string): number {
  const v = Number(value);
  if (value.trim() === '' || !Number.isFinite(v)) throw new SourceError(`source '${spec}': expected a number for '${key}', got '${value}'`);
  return v;
}

function policyParam(spec: string, value: string): BadFramePolicy {
  if (value !== 'fail' && value !== 'skip') throw new SourceError(`source '${spec}': expected onBadFrame=fail|skip, got '${value}'`);
  return value;
}

function unknownParam(spec: string, key: string, allowed: string[]): never {
  throw new SourceError(`source '${spec}': unknown parameter '${key}' (expected one of ${allowed.join(', ')})`);
}

function tumOptions(spec: string, params: Record<string, string>, opts: OpenSourceOptions): TumOptions {
  const out: TumOptions = {};
  if (opts.intrinsics !== undefined) out.intrinsics = opts.intrinsics;
  if (opts.depthScale !== undefined) out.depthScale = opts.depthScale;
  if (opts.onBadFrame !== undefined) out.onBadFrame = opts.onBadFrame;
  if (opts.onWarning) out.onWarning = opts.onWarning;
  const allowed = ['intrinsics', 'depthScale', 'onBadFrame', 'maxTimeDifference', 'groundTruth'];
  for (const [k, v] of Object.entries(params)) {
    if (k === 'intrinsics') out.intrinsics = v;
    else if (k === 'depthScale') out.depthScale = numberParam(spec, k, v);
    else if (k === 'maxTimeDifference') out.maxTimeDifference = numberParam(spec, k, v);
    else if (k === 'onBadFrame') out.onBadFrame = policyParam(spec, v);
    else if (k === 'groundTruth') out.groundTruth = v !== 'false' && v !== '0';
    else unknownParam(spec, k, allowed);
  }
  return out;
}

const SYNTHETIC_ALIASES: Record<string, string> = { noise: 'depthNoise' };

function syntheticOptions(spec: string, target: string, params: Record<string, string>, opts: OpenSourceOptions): SyntheticOptionsInput {
  const scene = SyntheticSceneNameSchema.safeParse(target);
  if (!scene.success) throw new SourceError(`source '${spec}': unknown synthetic scene '${target}' (expected room or tabletop)`);
  const numeric = ['frames', 'width', 'height', 'fps', 'fx', 'fy', 'cx', 'cy', 'seed', 'depthNoise', 'colourNoise'];
  const merged: Record<string, unknown> = { ...(opts.synthetic ?? {}), scene: scene.data };
  for (const [k0, v] of Object.entries(params)) {
    const k = SYNTHETIC_ALIASES[k0] ?? k0;
    if (!numeric.includes(k)) unknownParam(spec, k0, [...numeric, 'noise']);
    merged[k] = numberParam(spec, k0, v);
  }
  const parsed = SyntheticOptionsSchema.safeParse(merged);
  if (!parsed.success) {
    throw new SourceError(`source '${spec}': ${formatZodIssues(parsed.error)}`);
  }
  return parsed.data;
}

/** Open a source spec as a stream of frames (lazy: nothing is read before subscription). */
export function openSource(spec: string, opts: OpenSourceOptions = {}): Observable<Frame> {
  const { scheme, target, params } = parseSourceSpec(spec);
  let frames$: Observable<Frame>;
  switch (scheme) {
    case 'tum':
      frames$ = tumSource(target, tumOptions(spec, params, opts));
      break;
    case 'recording': {
      const extra = Object.keys(params).filter((k) => k !== 'onBadFrame');
      if (extra.length > 0) unknownParam(spec, extra[0]!, ['onBadFrame']);
      const onBadFrame = params.onBadFrame !== undefined ? policyParam(spec, params.onBadFrame) : opts.onBadFrame;
      frames$ = recordingSource(target, { ...(onBadFrame ? { onBadFrame } : {}), ...(opts.onWarning ? { onWarning: opts.onWarning } : {}) });
      break;
    }
    case 'synthetic':
      frames$ = syntheticSource(syntheticOptions(spec, target, params, opts));
      break;
  }
  return opts.pace === 'realtime' ? frames$.pipe(pace('realtime')) : frames$;
}
