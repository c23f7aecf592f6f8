/**
 * Certificates generated at run time for the simulator and tests: a CA, a
 * server certificate for loopback names, and a client certificate for mTLS.
 * Keys come from Node's crypto; `openssl` signs. Nothing is written to the repo:
 * material lives in a private temp directory that is removed before returning.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** PEM material of one run-time PKI. */
export interface TestPki {
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** Options of generatePki. */
export interface PkiOptions {
  /** DNS names and IP addresses the server certificate is valid for. */
  hosts?: string[];
  /** Common name of the client certificate (the mTLS identity). */
  clientName?: string;
  /** Validity in days. */
  days?: number;
}

function newKey(): string {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

const IP = /^(\d{1,3}\.){3}\d{1,3}$|:/;

/** Generate a CA plus server and client certificates signed by it. */
export async function generatePki(opts: PkiOptions = {}): Promise<TestPki> {
  const hosts = opts.hosts ?? ['localhost', '127.0.0.1', '::1'];
  const days = String(opts.days ?? 7);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gnmi-pki-'));
  const file = (name: string) => path.join(dir, name);
  try {
    const caKey = newKey();
    const serverKey = newKey();
    const clientKey = newKey();
    await writeFile(file('ca.key'), caKey, { mode: 0o600 });
    await writeFile(file('server.key'), serverKey, { mode: 0o600 });
    await writeFile(file('client.key'), clientKey, { mode: 0o600 });
    const san = hosts.map((h) => (IP.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
    await writeFile(file('server.ext'), `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`);
    await writeFile(file('client.ext'), `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n`);
    await run('openssl', [
      'req', '-x509', '-new', '-key', file('ca.key'), '-sha256', '-days', days, '-subj', '/CN=switch-telemetry run-time CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', file('ca.crt'),
    ]);
    for (const [name, cn] of [['server', hosts[0]], ['client', opts.clientName ?? 'collector']] as const) {
      await run('openssl', ['req', '-new', '-key', file(`${name}.key`), '-subj', `/CN=${cn}`, '-out', file(`${name}.csr`)]);
      await run('openssl', [
        'x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-set_serial', `0x${Date.now().toString(16)}${name === 'server' ? '1' : '2'}`,
        '-days', days, '-sha256', '-extfile', file(`${name}.ext`), '-out', file(`${name}.crt`),
      ]);
    }
    return {
      caCert: await readFile(file('ca.crt'), 'utf8'),
      serverCert: await readFile(file('server.crt'), 'utf8'),
      serverKey,
      clientCert: await readFile(file('client.crt'), 'utf8'),
      clientKey,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
