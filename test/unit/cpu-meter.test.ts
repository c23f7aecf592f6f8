/**
 * The bench's CPU meter with real processes (/proc): a child that used CPU before the window began and
 * ends inside it is counted through its parent (which reaps it) only for what it used in the window,
 * not for its whole life, as a PostgreSQL cluster's backends are when a collector is killed.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { CpuMeter, cpuSeconds, processTree } from '../../bench/lib/procstat';
import { until } from '../../testkit/until';

describe('bench CPU meter: a child that ends in the window counts only what it used in it', function () {
  this.timeout(30_000);
  let parent: ChildProcess | undefined;

  after(() => parent?.kill('SIGKILL'));

  it('takes off what the reaped child had used before begin()', async () => {
    // The parent spawns a child that burns 0.6 s of CPU (user time, however busy the machine), then idles until told to exit; the parent reaps it.
    const childCode = 'let n = 0; while (process.cpuUsage().user < 600000) for (let i = 0; i < 1e6; i++) n += i; process.stdin.on("data", () => process.exit(n > 0 ? 0 : 1)); process.stdin.resume();';
    const parentCode = `const c = require('node:child_process').spawn(process.execPath, ['-e', ${JSON.stringify(childCode)}], { stdio: ['pipe', 'inherit', 'inherit'] });
      console.log(c.pid);
      process.stdin.on('data', () => c.stdin.write('x'));
      c.on('exit', () => console.log('reaped'));
      setInterval(() => undefined, 1000);`;
    parent = spawn(process.execPath, ['-e', parentCode], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    parent.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await until('the child started', () => /^\d+\n/.test(out), 10_000, 20);
    const childPid = Number(out.split('\n')[0]);
    await until('the child burned its CPU', () => cpuSeconds(childPid) >= 0.5, 10_000, 20);
    const burned = cpuSeconds(childPid);

    const meter = new CpuMeter(() => ({ tree: processTree([parent!.pid!]) }));
    const startedAt = performance.now();
    meter.begin();
    parent.stdin!.write('x');
    await until('the parent reaped the child', () => out.includes('reaped') && !fs.existsSync(`/proc/${childPid}`), 10_000, 10);
    const { tree } = meter.end();
    const windowS = (performance.now() - startedAt) / 1000;
    const usedS = (tree / 100) * windowS;

    assert.ok(usedS < burned / 2, `counted ${usedS.toFixed(3)} s of CPU in a ${windowS.toFixed(3)} s window; the child had burned ${burned.toFixed(3)} s before it began`);
    assert.ok(tree >= 0, 'never negative');
  });
});
