/**
 * Secrets canary (issue 9, part of `npm test`): a device's password is a
 * unique canary. It must appear nowhere outside the encrypted column: not in
 * the output of the collector, control and web processes (at debug level),
 * not in Temporal workflow histories (as the SDK fetches them and as
 * `temporal workflow show --output json` prints them), not in the failure
 * shown when the device rejects the credentials, not in SSE payloads, API
 * responses or pages (signed in as admin when the app has sign-in).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { deviceSessionWorkflowId } from '../../core/names';
import { waitFor } from '../../scripts/infra/proc';
import { ensureTemporalCli } from '../../scripts/infra/temporal-cli';
import { startRig, type Rig } from '../support/faults-rig';
import { readSse, webClient } from '../support/faults-web';

const run = promisify(execFile);
const CANARY = `canary-${Math.random().toString(36).slice(2, 10)}-Zq7`;
const IN_OCTETS = '/interfaces/interface[name=Ethernet1]/state/counters/in-octets';

/** Every spelling of the canary a leak could take: plain, base64, hex, URL- and JSON-escaped. */
const SPELLINGS = [
  CANARY,
  Buffer.from(CANARY).toString('base64').slice(0, 16),
  Buffer.from(CANARY).toString('hex'),
  encodeURIComponent(CANARY),
];

/** Where (if anywhere) the canary occurs in `text`. */
function leak(text: string): string | undefined {
  for (const s of SPELLINGS) {
    const i = text.indexOf(s);
    if (i >= 0) return `…${text.slice(Math.max(0, i - 120), i + s.length + 40)}…`;
  }
  return undefined;
}

/** JSON of a value with byte arrays decoded as UTF-8 (payload data is bytes). */
function jsonWithBytes(value: unknown): string {
  return JSON.stringify(value, (_k, v) => {
    if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
    if (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
      return Buffer.from((v as { data: number[] }).data).toString('utf8');
    }
    if (typeof v === 'bigint') return v.toString();
    return v;
  });
}

describe('secrets canary: a device password appears nowhere', function () {
  this.timeout(180_000);
  let rig: Rig;

  before(async () => {
    rig = await startRig({
      label: 'rel_secrets',
      devices: 2,
      interfaces: 2,
      sampleMs: 500,
      password: CANARY,
      web: true,
      env: { LOG_LEVEL: 'debug' },
      sessionOptions: { initialBackoffMs: 500, maxBackoffMs: 2000 },
    });
    // Make the first device reject the credentials: its session fails and parks with an error.
    const rejecting = rig.devices[0].member.faults as { rejectCredentials(on: boolean): void; dropStreams(): number };
    rejecting.rejectCredentials(true);
    rejecting.dropStreams();
    await waitFor(
      'the rejecting device to show a failure',
      async () => {
        const [s] = await rig.statuses();
        return s.state === 'auth-failed';
      },
      60_000,
      500,
    );
  });

  after(async () => {
    await rig?.stop();
  });

  it('the failure shown for rejected credentials names the problem, not the password', async () => {
    const [status] = await rig.statuses();
    assert.match(`${status.lastError} ${status.detail}`, /AUTH|credential|UNAUTHENTICATED/i);
    assert.equal(leak(JSON.stringify(status)), undefined);
    const desc = await rig.client.workflow.getHandle(deviceSessionWorkflowId(rig.devices[0].id)).describe();
    assert.equal(leak(jsonWithBytes(desc.raw)), undefined, 'not in the workflow description (memo, search attributes, pending activities)');
  });

  it('not in Temporal workflow histories (SDK fetchHistory and `temporal workflow show --output json`)', async () => {
    const cli = await ensureTemporalCli();
    for (const d of rig.devices) {
      const id = deviceSessionWorkflowId(d.id);
      const history = await rig.client.workflow.getHandle(id).fetchHistory();
      assert.ok((history.events?.length ?? 0) > 3, `${id} has a history`);
      assert.equal(leak(jsonWithBytes(history)), undefined, `${id}: SDK history`);
      const { stdout } = await run(cli, ['workflow', 'show', '--workflow-id', id, '--address', rig.temporalAddress, '--output', 'json'], { maxBuffer: 64 * 1024 * 1024 });
      assert.ok(stdout.length > 100, 'the CLI printed the history');
      assert.equal(leak(stdout), undefined, `${id}: temporal workflow show`);
    }
  });

  it('not in API responses, pages or SSE payloads', async () => {
    const web = rig.web!;
    const client = await webClient(web.url);
    const ok = rig.devices[1];
    const series = await rig.seriesId(ok.id, IN_OCTETS);
    const now = Date.now();
    const pages = [
      `/`,
      `/devices`,
      `/devices/${ok.id}`,
      `/devices/${rig.devices[0].id}`,
      `/devices/${ok.id}/edit`,
      `/api/series?series=${series}&from=${now - 600_000}&to=${now}`,
      `/api/paths?device=${ok.id}`,
      `/healthz`,
    ];
    const seen: string[] = [];
    for (const p of pages) {
      const res = await client.fetch(p);
      const body = await res.text();
      seen.push(`${p} ${res.status}`);
      assert.equal(leak(body), undefined, `${p} (${res.status})`);
      assert.equal(leak(JSON.stringify([...res.headers])), undefined, `${p} headers`);
    }
    const sse = await client.fetch(`/api/live?series=${series}&since=${now - 60_000}`);
    assert.equal(sse.status, 200);
    const text = await readSse(sse, 4000);
    assert.match(text, /data: /, 'the SSE stream carried points');
    assert.equal(leak(text), undefined, 'SSE payloads');
    // The device JSON the app serves to scripts, if any, and the device form: the secret is write-only.
    assert.ok(seen.some((s) => s.startsWith(`/devices/${ok.id} 200`)), `device page served: ${seen.join(', ')}`);
  });

  it('not in the output of the collector, control and web processes (debug level)', async () => {
    const outputs = rig.processes.map((p) => ({ name: p.name, text: p.output() }));
    assert.ok(outputs.some((o) => o.text.length > 0), 'the processes logged something');
    for (const o of outputs) assert.equal(leak(o.text), undefined, `${o.name} output`);
  });
});
