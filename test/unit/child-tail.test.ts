import assert from 'node:assert/strict';
import { startChild } from '../../scripts/infra/proc';
import { until } from '../../testkit/until';

describe('startChild: the last output lines of a quiet child', function () {
  this.timeout(20_000);

  it('keeps the last 40 non-empty lines, in order, though it printed none of them', async () => {
    // 50 lines with blank lines between, the last one a collector's forced exit, and a non-zero exit.
    const script = `for (let i = 1; i < 50; i++) process.stdout.write('line ' + i + '\\n\\n'); process.stdout.write('forced exit\\n'); process.exitCode = 1;`;
    const child = startChild('tail-test', process.execPath, ['-e', script], { quiet: true });
    assert.equal(await child.exited, 1);
    // Its pipe may deliver the last chunk after the exit event.
    await until('the last line read', () => child.tail().at(-1) === 'forced exit');
    assert.deepEqual(child.tail(), [...Array.from({ length: 39 }, (_, i) => `line ${i + 11}`), 'forced exit']);
  });

  it('keeps what it wrote to stderr too', async () => {
    const child = startChild('tail-test', process.execPath, ['-e', `console.error('GracefulShutdownPeriodExpiredError'); process.exitCode = 1;`], { quiet: true });
    assert.equal(await child.exited, 1);
    await until('the line read', () => child.tail().length > 0);
    assert.deepEqual(child.tail(), ['GracefulShutdownPeriodExpiredError']);
  });
});
