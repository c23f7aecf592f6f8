/**
 * Test connection from the device form (ADR 091): the form's unsaved settings go to
 * the probe workflow, which runs one probe activity on a collector; secrets typed in
 * the form are sealed with the keyring first, so none enters a Temporal payload in clear.
 */
import { randomUUID } from 'node:crypto';
import { deviceProbeWorkflowId, type ProbeDeviceResult } from '../../../core/names';
import type { DeviceSecrets } from '../../../core/device';
import { probeDeviceConnection } from '../../../temporal/fleet-client';
import { sealProbeSecrets } from '../../../storage/probe-secrets';
import type { DeviceForm } from './device-form';
import { ctx, temporalClient } from './context.server';
import { withTimeout } from './sessions.server';

/** Probe with the validated form; `deviceId` of the saved device whose stored secrets fill blank fields. */
export async function testConnection(form: DeviceForm, deviceId: number | undefined): Promise<ProbeDeviceResult> {
  const { config, keyring } = ctx();
  const started = Date.now();
  const workflowId = deviceProbeWorkflowId(randomUUID());
  const typed = Object.fromEntries(Object.entries(form.secrets).filter(([, v]) => typeof v === 'string' && v !== '')) as DeviceSecrets;
  try {
    const client = await withTimeout(temporalClient(), 5000, 'connecting to Temporal');
    return await withTimeout(
      probeDeviceConnection(client, workflowId, {
        deviceId,
        name: form.name,
        protocol: form.protocol,
        host: form.host,
        port: form.port,
        username: form.username,
        gnmi: form.gnmi,
        netconf: form.netconf,
        sealedSecrets: Object.keys(typed).length ? sealProbeSecrets(keyring, typed, workflowId) : undefined,
        clearSecrets: form.clearSecrets,
        profileId: form.profileIds[0],
        timeoutMs: config.WEB_PROBE_TIMEOUT_MS,
      }),
      config.WEB_PROBE_TIMEOUT_MS + 15_000,
      'the probe (is a collector running?)',
    );
  } catch (err) {
    return { ok: false, elapsedMs: Date.now() - started, code: 'NOT_RUN', error: `The probe did not run: ${(err as Error).message}` };
  }
}
