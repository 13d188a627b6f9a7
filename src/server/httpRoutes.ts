/**
 * HTTP: the bundled viewer, the WebSocket upgrade at /ws, the mesh as PLY and
 * a status document; every response with the security headers, everything
 * but the viewer behind the token when one is required.
 */
import type { Server } from 'bun';
import { originAllowed, requestToken, tokenMatches } from './auth';
import type { SocketData } from './fanOut';
import { meshBlocksToPly } from './ply';
import type { ServerStatus } from './protocol';
import type { SceneState } from './sceneState';
import { viewerBundle } from './viewerBundle';

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  // the token is in the page URL; keep it out of Referer headers
  'referrer-policy': 'no-referrer',
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' blob: data:; connect-src 'self' ws: wss:; media-src 'self' blob: mediastream:",
};

export type FetchHandler = (req: Request, server: Server<SocketData>) => Promise<Response | undefined>;

export function httpRoutes(o: { token: string | null; scene: SceneState; status: ServerStatus; clientCount: () => number }): FetchHandler {
  const { token, scene, status } = o;
  let nextClientId = 1;
  const json = (body: unknown, code = 200): Response =>
    new Response(JSON.stringify(body), { status: code, headers: { 'content-type': 'application/json', ...SECURITY_HEADERS } });
  const forbidden = (): Response =>
    new Response('scanstream: this server requires the access token printed at start (?token=…)\n', { status: 401, headers: SECURITY_HEADERS });

  return async (req, server) => {
    const url = new URL(req.url);
    const authorized = token === null || tokenMatches(requestToken(req, url), token);
    switch (url.pathname) {
      case '/':
      case '/index.html':
        return new Response((await viewerBundle()).html, { headers: { 'content-type': 'text/html; charset=utf-8', ...SECURITY_HEADERS } });
      case '/viewer.js':
        return new Response((await viewerBundle()).js, { headers: { 'content-type': 'text/javascript; charset=utf-8', ...SECURITY_HEADERS } });
      case '/ws': {
        if (!authorized) return forbidden();
        if (!originAllowed(req)) return new Response('scanstream: cross-origin WebSocket refused\n', { status: 403, headers: SECURITY_HEADERS });
        const remote = server.requestIP(req)?.address ?? '?';
        if (server.upgrade(req, { data: { id: nextClientId++, remote } })) return undefined;
        return new Response('scanstream: expected a WebSocket upgrade\n', { status: 426, headers: SECURITY_HEADERS });
      }
      case '/mesh.ply':
        if (!authorized) return forbidden();
        return new Response(meshBlocksToPly(scene.meshBlocks()), {
          headers: { 'content-type': 'application/octet-stream', 'content-disposition': 'attachment; filename="scanstream-mesh.ply"', ...SECURITY_HEADERS },
        });
      case '/status.json':
        if (!authorized) return forbidden();
        return json({ status, blocks: scene.blocks.size, triangles: scene.triangles, clients: o.clientCount() });
      default:
        return new Response('not found\n', { status: 404, headers: SECURITY_HEADERS });
    }
  };
}
