import assert from 'node:assert/strict';
import { encodeSamplesCopy } from '../../storage/copy-binary';

/** The format written out with BigInt and Buffer's own methods, field by field (PostgreSQL's COPY BINARY). */
function reference(timeMs: number[], series: number[], value: number[]): Buffer {
  const parts = [Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)];
  for (let i = 0; i < timeMs.length; i++) {
    const row = Buffer.alloc(2 + 3 * 12);
    row.writeInt16BE(3, 0);
    row.writeInt32BE(8, 2);
    row.writeBigInt64BE(BigInt(Math.round(timeMs[i] * 1000)) - 946_684_800_000_000n, 6);
    row.writeInt32BE(8, 14);
    row.writeBigInt64BE(BigInt(series[i]), 18);
    row.writeInt32BE(8, 26);
    row.writeDoubleBE(value[i], 30);
    parts.push(row);
  }
  parts.push(Buffer.from([0xff, 0xff]));
  return Buffer.concat(parts);
}

describe('binary COPY encoding of samples', () => {
  it('writes the header, each row and the trailer as PostgreSQL reads them', () => {
    const timeMs = [1700000000123.456, 0, 946684800000, 946684799999.999, 253402300799000, 1, 1700000000000.0005];
    const series = [1, 2, 2 ** 31, 2 ** 32 + 5, 2 ** 40 + 1, Number.MAX_SAFE_INTEGER, 7];
    const value = [0, -0, 1.5, -1e300, 5e-324, 12345678901234, Number.MAX_VALUE];
    assert.deepEqual(encodeSamplesCopy(timeMs, series, value), reference(timeMs, series, value));
  });

  it('encodes a batch of thousands of rows, and none', () => {
    const n = 5000;
    const timeMs = Array.from({ length: n }, (_, i) => 1700000000000 + i * 0.001);
    const series = Array.from({ length: n }, (_, i) => 1 + (i % 336));
    const value = Array.from({ length: n }, (_, i) => i * 1_000_003.25);
    assert.deepEqual(encodeSamplesCopy(timeMs, series, value), reference(timeMs, series, value));
    assert.deepEqual(encodeSamplesCopy([], [], []), reference([], [], []));
  });
});
