import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { OrderedShutdown, STOP_ORDER, type StopPart } from '../../scripts/infra/shutdown';
import { until } from '../../testkit/until';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('npm start: stop in dependency order', function () {
  this.timeout(20_000);

  it('stops parts one at a time, dependents first, whatever order they started in; reports each and the total', async () => {
    const shutdown = new OrderedShutdown();
    const events: string[] = [];
    // The order npm start registers them in: PostgreSQL, Temporal, then the children.
    for (const part of ['postgres', 'temporal', 'simulator', 'control', 'collector', 'web'] as StopPart[]) {
      shutdown.register(part, async () => {
        events.push(`start ${part}`);
        // Part of the test, not synchronisation: a stop that takes a while, so stops run at once would interleave.
        await new Promise((r) => setTimeout(r, 5));
        if (part === 'control') throw new Error('boom');
        events.push(`end ${part}`);
      });
    }
    const lines: string[] = [];
    const timings = await shutdown.stopAll((l) => lines.push(l));
    assert.deepEqual(STOP_ORDER, ['web', 'collector', 'control', 'simulator', 'temporal', 'postgres']);
    // Each part ends before the next starts (the collector hands its sessions back while Temporal still runs).
    assert.deepEqual(events, ['start web', 'end web', 'start collector', 'end collector', 'start control', 'start simulator', 'end simulator', 'start temporal', 'end temporal', 'start postgres', 'end postgres']);
    assert.deepEqual(timings.map((t) => t.part), [...STOP_ORDER]);
    assert.equal(timings.find((t) => t.part === 'control')?.error, 'boom');
    assert.match(lines[0], /^ {2}web stopped \(\d+\.\d s\)\n$/);
    assert.match(lines[2], /control stopped .* with an error: boom/);
    assert.match(lines.at(-1)!, /^Stopped in \d+\.\d s\.\n$/);
    assert.deepEqual(await shutdown.stopAll(() => {}), [], 'a second stop has nothing left to do');
  });

  it("a terminal's Ctrl-C (SIGINT to the foreground process group) does not reach children started in their own group", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'up-group-'));
    const parentFile = path.join(dir, 'parent.ts');
    writeFileSync(
      parentFile,
      `import { startChild } from ${JSON.stringify(path.join(ROOT, 'scripts/infra/proc.ts'))};
       process.on('SIGINT', () => {}); // like npm start: it handles Ctrl-C itself
       const idle = ['-e', 'setInterval(() => {}, 1000)'];
       const own = startChild('own', process.execPath, idle, { detached: true });
       const same = startChild('same', process.execPath, idle);
       console.log(JSON.stringify({ own: own.child.pid, same: same.child.pid }));
       setInterval(() => {}, 1000);`,
    );
    const parent = spawn(process.execPath, ['--import', 'tsx', parentFile], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
    let pids: { own: number; same: number } | undefined;
    try {
      pids = await new Promise<{ own: number; same: number }>((resolve) => readline.createInterface({ input: parent.stdout! }).once('line', (l) => resolve(JSON.parse(l))));
      process.kill(-parent.pid!, 'SIGINT'); // what the terminal does on Ctrl-C
      const same = pids.same;
      await until('the child in the same group to die', () => !alive(same), 5000);
      assert.equal(alive(pids.same), false, 'a child in the same group dies with Ctrl-C');
      assert.equal(alive(pids.own), true, 'a child in its own group is left for the ordered stop');
      assert.equal(alive(parent.pid!), true);
    } finally {
      for (const pid of [pids?.own, pids?.same, parent.pid]) if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
