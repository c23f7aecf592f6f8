/** Secrets typed for Test connection (ADR 091): sealed to one probe workflow id, expiring, never clear text. */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { openProbeSecrets, sealProbeSecrets } from '../../storage/probe-secrets';
import { parseKeyring } from '../../storage/secrets';

describe('probe secrets', () => {
  const ring = parseKeyring(`1:${crypto.randomBytes(32).toString('base64')}`);
  const secrets = { password: 'typed-Pa55word', privateKey: 'KEY' };

  it('opens for the workflow id it was sealed to, and the text holds no clear secret', () => {
    const text = sealProbeSecrets(ring, secrets, 'device-probe/a', 1000);
    assert.ok(!text.includes('typed-Pa55word') && !Buffer.from(text, 'base64').toString().includes('typed-Pa55word'));
    assert.deepEqual(openProbeSecrets(ring, text, 'device-probe/a', 2000), secrets);
  });

  it('refuses another workflow id, a later time, and another key', () => {
    const text = sealProbeSecrets(ring, secrets, 'device-probe/a', 1000);
    assert.throws(() => openProbeSecrets(ring, text, 'device-probe/b', 2000), /failed authentication/);
    assert.throws(() => openProbeSecrets(ring, text, 'device-probe/a', 1000 + 121_000), /expired/);
    const other = parseKeyring(`1:${crypto.randomBytes(32).toString('base64')}`);
    assert.throws(() => openProbeSecrets(other, text, 'device-probe/a', 2000), /failed authentication/);
  });
});
