/**
 * A self-signed certificate for --https, generated once with openssl and kept
 * in the user's config directory. Browsers grant camera access only to secure
 * contexts, so a phone on the LAN needs HTTPS; the user accepts the
 * certificate once, checking the fingerprint printed at start.
 */
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface TlsMaterial {
  cert: string;
  key: string;
  /** SHA-256 fingerprint, colon-separated hex */
  fingerprint: string;
  dir: string;
  created: boolean;
}

export function defaultTlsDir(): string {
  const base = process.env.XDG_CONFIG_HOME || (process.platform === 'darwin' ? join(homedir(), 'Library', 'Application Support') : join(homedir(), '.config'));
  return join(base, 'scanstream', 'tls');
}

export async function loadOrCreateCertificate(dir: string = defaultTlsDir(), ips: string[] = []): Promise<TlsMaterial> {
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  let created = false;
  if (!existsSync(certPath) || !existsSync(keyPath)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const san = ['DNS:localhost', 'IP:127.0.0.1', ...ips.map((ip) => `IP:${ip}`)].join(',');
    const args = ['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '825'];
    args.push('-subj', '/CN=scanstream local', '-addext', `subjectAltName=${san}`, '-keyout', keyPath, '-out', certPath);
    let proc;
    try {
      proc = Bun.spawnSync(args, { stdout: 'ignore', stderr: 'pipe' });
    } catch (e) {
      throw new Error(`--https needs openssl to create a certificate (${(e as Error).message})`);
    }
    if (proc.exitCode !== 0) throw new Error(`openssl could not create a certificate in ${dir}: ${proc.stderr.toString().trim()}`);
    chmodSync(keyPath, 0o600);
    created = true;
  }
  const cert = await Bun.file(certPath).text();
  const key = await Bun.file(keyPath).text();
  return { cert, key, fingerprint: new X509Certificate(cert).fingerprint256, dir, created };
}
