/** Where the server can be reached: the URL to open, and one per LAN address when bound beyond loopback. */
import { networkInterfaces } from 'node:os';

export function lanAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) out.push(a.address);
  }
  return out;
}

/** The viewer's URL (with the token query, when one is required) on the bound host and on each LAN address. */
export function viewerUrls(o: { tls: boolean; host: string; port: number; loopback: boolean; tokenQuery: string }): { url: string; lanUrls: string[] } {
  const scheme = o.tls ? 'https' : 'http';
  const shownHost = o.host === '0.0.0.0' || o.host === '::' ? 'localhost' : o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    url: `${scheme}://${shownHost}:${o.port}/${o.tokenQuery}`,
    lanUrls: o.loopback ? [] : lanAddresses().map((ip) => `${scheme}://${ip}:${o.port}/${o.tokenQuery}`),
  };
}
