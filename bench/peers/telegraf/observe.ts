/**
 * What Telegraf's inputs.gnmi makes of a gNMI delete and of a counter reset, observed:
 * one simulated target in this process, Telegraf (the benchmark's build) subscribed to its
 * interface counters with outputs.file (JSON lines), then a hand-built notification that
 * deletes an interface and one whose in-octets went back to a small value. Prints what
 * Telegraf emitted after each.
 *
 *   node --import tsx bench/peers/telegraf/observe.ts
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureGoTool } from '../../../scripts/infra/go-tools';
import { startChild } from '../../../scripts/infra/proc';
import { SimDevice } from '../../../simulator/model';
import { startGnmiTarget } from '../../../simulator/gnmi/target';
import { nowNanos } from '../../../simulator/gnmi/encode';
import { TELEGRAF } from './telegraf';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const { telegraf } = await ensureGoTool(TELEGRAF);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'telegraf-observe-'));
  const out = path.join(tmp, 'metrics.json');
  const target = await startGnmiTarget({ device: new SimDevice({ name: 'obs', interfaces: 2 }), host: '127.0.0.1', port: 0, auth: { username: 'admin', password: 'admin' } });
  fs.writeFileSync(
    path.join(tmp, 'telegraf.conf'),
    [
      '[agent]',
      '  omit_hostname = true',
      '  flush_interval = "200ms"',
      '[[outputs.file]]',
      `  files = [${JSON.stringify(out)}]`,
      '  data_format = "json"',
      '[[inputs.gnmi]]',
      `  addresses = ["127.0.0.1:${target.port}"]`,
      '  username = "admin"',
      '  password = "admin"',
      '  encoding = "proto"',
      '  tls_enable = false',
      '  [[inputs.gnmi.subscription]]',
      '    name = "ifcounters"',
      '    path = "/interfaces/interface/state/counters"',
      '    subscription_mode = "sample"',
      '    sample_interval = "5s"',
    ].join('\n'),
  );
  const child = startChild('telegraf', telegraf, ['--config', path.join(tmp, 'telegraf.conf')], { quiet: true });
  const lines = () => (fs.existsSync(out) ? fs.readFileSync(out, 'utf8').trim().split('\n').filter(Boolean) : []);
  try {
    const deadline = Date.now() + 30_000;
    while (lines().length === 0 && Date.now() < deadline) await sleep(200);
    const before = lines().length;
    console.log(`first sample: ${before} metrics, e.g. ${lines()[0]}`);
    const prefix = { elem: [{ name: 'interfaces' }, { name: 'interface', key: { name: 'Ethernet1' } }, { name: 'state' }, { name: 'counters' }] };
    // 1. A delete of Ethernet1's counters (as a switch sends when an interface is removed).
    target.broadcast({ timestamp: nowNanos(), prefix, delete: [{ elem: [{ name: 'in-octets' }] }, { elem: [] }] });
    await sleep(1500);
    const afterDelete = lines().slice(before);
    console.log(`after a delete notification: ${afterDelete.length} new metrics${afterDelete.length ? ': ' + afterDelete.join(' | ') : ''}`);
    // 2. A counter reset: in-octets back to 42 (a reboot or a cleared counter).
    const mark = lines().length;
    target.broadcast({ timestamp: nowNanos(), prefix, update: [{ path: { elem: [{ name: 'in-octets' }] }, val: { uint_val: '42' } }] });
    await sleep(1500);
    const afterReset = lines().slice(mark);
    console.log(`after a counter reset: ${afterReset.length} new metrics${afterReset.length ? ': ' + afterReset.join(' | ') : ''}`);
  } finally {
    await child.stop(5000);
    await target.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
