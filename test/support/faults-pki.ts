/**
 * Broken server certificates for the TLS hostile-input tests, next to a good
 * one from the same run-time CA: expired, issued for another name, and
 * self-signed. Keys from Node's crypto, signatures from `openssl` (as
 * simulator/gnmi/certs.ts does); nothing is written outside a temp folder
 * that is removed before returning.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A server certificate and its key (PEM). */
export interface ServerCert {
  cert: string;
  key: string;
}

/** A CA and server certificates that fail verification in different ways. */
export interface BrokenPki {
  caCert: string;
  /** Valid, for localhost / 127.0.0.1. */
  good: ServerCert;
  /** Signed by the CA for localhost / 127.0.0.1, but expired in 2020. */
  expired: ServerCert;
  /** Signed by the CA, valid now, but only for switch-a.example. */
  wrongName: ServerCert;
  /** Valid for localhost / 127.0.0.1 but signed by itself, not the CA. */
  selfSigned: ServerCert;
}

const newKey = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

/** Generate the CA and the four server certificates. */
export async function generateBrokenPki(): Promise<BrokenPki> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'broken-pki-'));
  const f = (name: string) => path.join(dir, name);
  try {
    const keys = { ca: newKey(), good: newKey(), expired: newKey(), wrong: newKey(), self: newKey() };
    for (const [name, pem] of Object.entries(keys)) await writeFile(f(`${name}.key`), pem, { mode: 0o600 });
    const ext = (san: string) => `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`;
    await writeFile(f('local.ext'), ext('DNS:localhost,IP:127.0.0.1'));
    await writeFile(f('wrong.ext'), ext('DNS:switch-a.example'));
    await writeFile(f('index.txt'), '');
    await writeFile(f('serial'), '1000\n');
    await writeFile(
      f('ca.cnf'),
      [
        '[ca]',
        'default_ca = ca_default',
        '[ca_default]',
        `database = ${f('index.txt')}`,
        `new_certs_dir = ${dir}`,
        `serial = ${f('serial')}`,
        'default_md = sha256',
        'policy = policy_any',
        'unique_subject = no',
        '[policy_any]',
        'commonName = supplied',
        '',
      ].join('\n'),
    );
    await run('openssl', [
      'req', '-x509', '-new', '-key', f('ca.key'), '-sha256', '-days', '7', '-subj', '/CN=reliability run-time CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', f('ca.crt'),
    ]);
    const sign = async (key: string, cn: string, extFile: string, out: string, dates: string[]) => {
      await run('openssl', ['req', '-new', '-key', f(key), '-subj', `/CN=${cn}`, '-out', f(`${out}.csr`)]);
      await run('openssl', [
        'ca', '-batch', '-notext', '-config', f('ca.cnf'), '-cert', f('ca.crt'), '-keyfile', f('ca.key'),
        '-in', f(`${out}.csr`), '-out', f(`${out}.crt`), '-extfile', f(extFile), ...dates,
      ]);
    };
    await sign('good.key', 'localhost', 'local.ext', 'good', ['-days', '7']);
    await sign('expired.key', 'localhost', 'local.ext', 'expired', ['-startdate', '20200101000000Z', '-enddate', '20200201000000Z']);
    await sign('wrong.key', 'switch-a.example', 'wrong.ext', 'wrong', ['-days', '7']);
    await run('openssl', [
      'req', '-x509', '-new', '-key', f('self.key'), '-sha256', '-days', '7', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-out', f('self.crt'),
    ]);
    const read = (name: string) => readFile(f(name), 'utf8');
    return {
      caCert: await read('ca.crt'),
      good: { cert: await read('good.crt'), key: keys.good },
      expired: { cert: await read('expired.crt'), key: keys.expired },
      wrongName: { cert: await read('wrong.crt'), key: keys.wrong },
      selfSigned: { cert: await read('self.crt'), key: keys.self },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
