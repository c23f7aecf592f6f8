/**
 * Issue 13: what a gNMI session settled on is on the device page. Two simulated targets,
 * real workers and Temporal, the page in Chromium: one answers Capabilities (the page shows
 * the encoding alone), one does not implement it and accepts only PROTO (the page shows the
 * encoding the fallback reached and says the session subscribed without Capabilities), and
 * neither session parks.
 */
import assert from 'node:assert/strict';
import { startDeviceSession, stopDeviceSession } from '../../temporal/fleet-client';
import type { DeviceSessionOptions } from '../../core/names';
import { startWebStack, type WebStack } from '../support/browser-rig';
import { gnmiFaults, registerSimDevice, waitForStatus } from './session-support';

const OPTIONS: DeviceSessionOptions = { heartbeatTimeoutMs: 4000, initialBackoffMs: 1000, maxBackoffMs: 4000 };

describe('web: the device page names the gNMI encoding and a missing Capabilities RPC', function () {
  this.timeout(180_000);
  let stack: WebStack;
  const started: number[] = [];

  before(async () => {
    stack = await startWebStack({
      database: 'e2e_device_encoding',
      adminEmail: 'encoding-page@example.test',
      fleet: { gnmiCount: 2, interfaces: 1, namePrefix: 'enc' },
      workers: { env: { INGEST_FLUSH_MS: '100' } },
    });
  });

  after(async () => {
    for (const id of started) await stopDeviceSession(stack.client, id, 'test over').catch(() => undefined);
    await stack?.stop();
  });

  /** Register fleet member `i`, start its session, wait until it streams with an encoding recorded; the page's Encoding line. */
  async function encodingLine(i: number): Promise<{ text: string; capabilities?: string }> {
    const device = await registerSimDevice(stack.tdb.db, stack.fleet.members[i]);
    await startDeviceSession(stack.client, { id: device.id, name: device.name, protocol: 'gnmi' }, OPTIONS);
    started.push(device.id);
    const status = await waitForStatus(stack.client, device.id, (s) => s.state === 'streaming' && s.encoding !== undefined, 'streaming with an encoding recorded', 60_000);
    const { page, web } = stack;
    await page.goto(`${web.url}/devices/${device.id}`);
    await page.getByTestId('gnmi-encoding').waitFor();
    assert.equal(await page.getByTestId('session-state').innerText(), 'streaming');
    return { text: await page.getByTestId('gnmi-encoding').innerText(), capabilities: status.capabilities };
  }

  it('a target that answers Capabilities: the encoding it chose, nothing else', async () => {
    const { text, capabilities } = await encodingLine(0);
    assert.equal(capabilities, 'answered');
    // The simulator lists PROTO, JSON_IETF and JSON; the first of PROTO, JSON_IETF, JSON it lists is chosen (ADR 010).
    assert.equal(text, 'PROTO');
  });

  it('a target without Capabilities that accepts only PROTO: the encoding reached by the fallback, subscribed without Capabilities', async () => {
    gnmiFaults(stack.fleet.members[1]).capabilities('unimplemented');
    gnmiFaults(stack.fleet.members[1]).limitEncodings(['PROTO']);
    const { text, capabilities } = await encodingLine(1);
    assert.equal(capabilities, 'unimplemented');
    assert.equal(text, 'PROTO · the device does not implement Capabilities (subscribed without it)');
    assert.equal(await stack.page.getByTestId('parked-advice').count(), 0, 'nothing parks');
  });
});
