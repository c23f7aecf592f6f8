import assert from 'node:assert/strict';
import { encodeMessage, FrameDecoder, FramingError, type Framing } from '../../protocols/netconf/framing';

const MAX = 64 * 1024;

/** Feed `input` in the given pieces; returns messages as strings. */
function feed(dec: FrameDecoder, pieces: Buffer[]): string[] {
  const out: string[] = [];
  for (const p of pieces) for (const m of dec.write(p)) out.push(m.toString('utf8'));
  return out;
}

/** Every way to cut `input` into two pieces, plus byte by byte. */
function splits(input: Buffer): Buffer[][] {
  const all: Buffer[][] = [];
  for (let i = 0; i <= input.length; i++) all.push([input.subarray(0, i), input.subarray(i)]);
  all.push([...input].map((b) => Buffer.from([b])));
  return all;
}

/** Every way to cut `input` into three pieces (small inputs only). */
function splits3(input: Buffer): Buffer[][] {
  const all: Buffer[][] = [];
  for (let i = 0; i <= input.length; i++)
    for (let j = i; j <= input.length; j++) all.push([input.subarray(0, i), input.subarray(i, j), input.subarray(j)]);
  return all;
}

const messages = ['<hello/>', 'a]]>]]b]]>]',  '<rpc-reply message-id="1"><ok/></rpc-reply>', 'x', '<a>]]></a>'.replace(']]>', ']]'), 'é ünïcode ✓'];

describe('netconf framing', () => {
  for (const framing of ['eom', 'chunked'] as Framing[]) {
    it(`${framing}: decodes several messages split at every byte boundary`, () => {
      const input = Buffer.concat(messages.map((m) => encodeMessage(m, framing)));
      for (const pieces of splits(input)) {
        assert.deepEqual(feed(new FrameDecoder({ maxMessageBytes: MAX, framing }), pieces), messages);
      }
    });

    it(`${framing}: decodes when split into three pieces at every pair of boundaries`, () => {
      const input = Buffer.concat(messages.slice(0, 3).map((m) => encodeMessage(m, framing)));
      for (const pieces of splits3(input)) {
        assert.deepEqual(feed(new FrameDecoder({ maxMessageBytes: MAX, framing }), pieces), messages.slice(0, 3));
      }
    });

    it(`${framing}: accepts a message of exactly the limit and rejects one byte more`, () => {
      const exact = 'a'.repeat(100);
      assert.deepEqual(feed(new FrameDecoder({ maxMessageBytes: 100, framing }), [encodeMessage(exact, framing)]), [exact]);
      const over = encodeMessage('a'.repeat(101), framing);
      for (const pieces of splits(over)) {
        const dec = new FrameDecoder({ maxMessageBytes: 100, framing });
        assert.throws(() => feed(dec, pieces), (e: unknown) => e instanceof FramingError && e.code === 'MESSAGE_TOO_LARGE');
        assert.ok(dec.bufferedBytes <= 105, `buffered ${dec.bufferedBytes}`);
      }
    });

    it(`${framing}: a decoder that failed keeps failing`, () => {
      const dec = new FrameDecoder({ maxMessageBytes: 10, framing });
      assert.throws(() => dec.write(encodeMessage('a'.repeat(50), framing)), FramingError);
      assert.throws(() => dec.write(encodeMessage('ok', framing)), FramingError);
    });
  }

  it('chunked: joins a message made of many chunks', () => {
    const input = Buffer.from('\n#4\n<rpc\n#1\n>\n#6\n</rpc>\n##\n');
    for (const pieces of splits(input)) assert.deepEqual(feed(new FrameDecoder({ maxMessageBytes: MAX, framing: 'chunked' }), pieces), ['<rpc></rpc>']);
  });

  it('chunked: rejects a chunk header announcing gigabytes before buffering any data', () => {
    const dec = new FrameDecoder({ maxMessageBytes: MAX, framing: 'chunked' });
    assert.throws(() => dec.write(Buffer.from('\n#4000000000\n')), /MESSAGE_TOO_LARGE/);
    assert.equal(dec.bufferedBytes, 0);
  });

  it('chunked: the budget counts all chunks of one message', () => {
    const dec = new FrameDecoder({ maxMessageBytes: 10, framing: 'chunked' });
    assert.throws(() => dec.write(Buffer.from('\n#6\naaaaaa\n#6\n')), /MESSAGE_TOO_LARGE/);
  });

  const malformed: Array<[string, string]> = [
    ['missing LF', '#3\nabc\n##\n'],
    ['missing #', '\n3\nabc\n##\n'],
    ['zero size', '\n#0\n\n##\n'],
    ['leading zero', '\n#03\nabc\n##\n'],
    ['letter in size', '\n#3a\nabc\n##\n'],
    ['size above 4294967295', '\n#4294967296\n'],
    ['eleven digits', '\n#12345678901\n'],
    ['end-of-chunks without a chunk', '\n##\n'],
    ['chunk longer than announced', '\n#2\nabc\n##\n'],
    ['no LF after ##', '\n#1\na\n##x'],
    ['EOM delimiter in chunked mode', '<hello/>]]>]]>'],
  ];
  for (const [name, text] of malformed) {
    it(`chunked: rejects malformed framing (${name}) however it is split`, () => {
      for (const pieces of splits(Buffer.from(text))) {
        const dec = new FrameDecoder({ maxMessageBytes: MAX, framing: 'chunked' });
        assert.throws(() => feed(dec, pieces), (e: unknown) => e instanceof FramingError && e.code === 'MALFORMED_FRAMING', name);
      }
    });
  }

  it('eom: a stream that never sends the delimiter stops at the limit, not at memory exhaustion', () => {
    const dec = new FrameDecoder({ maxMessageBytes: 1024, framing: 'eom' });
    const block = Buffer.alloc(100, 0x61);
    let thrown: unknown;
    for (let i = 0; i < 1000 && !thrown; i++) {
      try {
        dec.write(block);
      } catch (err) {
        thrown = err;
      }
    }
    assert.ok(thrown instanceof FramingError && thrown.code === 'MESSAGE_TOO_LARGE');
    assert.ok(dec.bufferedBytes <= 1024 + 5);
  });

  it('hello: holds bytes after the first message until the framing is chosen (every boundary)', () => {
    const hello = '<hello><capabilities/></hello>';
    const rest = ['<rpc-reply message-id="1"/>', '<notification/>'];
    const input = Buffer.concat([encodeMessage(hello, 'eom'), ...rest.map((m) => encodeMessage(m, 'chunked'))]);
    for (const pieces of splits(input)) {
      const dec = new FrameDecoder({ maxMessageBytes: MAX, holdAfterFirstMessage: true });
      const out: string[] = [];
      for (const p of pieces) {
        for (const m of dec.write(p)) {
          out.push(m.toString());
          if (out.length === 1) for (const n of dec.setFraming('chunked')) out.push(n.toString());
        }
      }
      assert.deepEqual(out, [hello, ...rest]);
    }
  });

  it('hello: stays on end-of-message framing when base:1.1 is not shared', () => {
    const input = Buffer.concat([encodeMessage('<hello/>', 'eom'), encodeMessage('<rpc-reply/>', 'eom')]);
    const dec = new FrameDecoder({ maxMessageBytes: MAX, holdAfterFirstMessage: true });
    assert.deepEqual(dec.write(input).map(String), ['<hello/>']);
    assert.deepEqual(dec.setFraming('eom').map(String), ['<rpc-reply/>']);
  });

  it('hello: bytes held before the framing is chosen are bounded', () => {
    const dec = new FrameDecoder({ maxMessageBytes: 100, holdAfterFirstMessage: true });
    dec.write(encodeMessage('<hello/>', 'eom'));
    assert.throws(() => dec.write(Buffer.alloc(200)), /MESSAGE_TOO_LARGE/);
  });
  describe('memory under 1-byte chunks (issue 14 item 10)', () => {
    const BUDGET = 4 * 1024 * 1024;
    /** 65,535 bytes of 1-byte chunks ("\n#1\nX" × 13,107), reused for every write. */
    const block = Buffer.from('\n#1\nX'.repeat(13_107));
    const chunksPerBlock = 13_107;

    it('chunked: a message of 1-byte chunks up to the budget holds one buffer (≤ 2 × budget), then fails typed', () => {
      const dec = new FrameDecoder({ maxMessageBytes: BUDGET, framing: 'chunked' });
      const heapBefore = process.memoryUsage().heapUsed;
      let fed = 0;
      while (fed + chunksPerBlock <= BUDGET) {
        assert.deepEqual(dec.write(block), []);
        fed += chunksPerBlock;
      }
      dec.write(Buffer.from('\n#1\nX'.repeat(BUDGET - fed)));
      const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
      assert.equal(dec.bufferedBytes, BUDGET);
      assert.ok(dec.allocatedBytes <= 2 * BUDGET + 8, `allocated ${dec.allocatedBytes} bytes for ${BUDGET} buffered`);
      // One Buffer view per 1-byte chunk cost ~107 bytes of heap each: ~430 MiB here (1.7 GB at 16 MiB).
      assert.ok(heapGrowth < 32 * 1024 * 1024, `heap grew ${(heapGrowth / 1048576).toFixed(1)} MiB while buffering ${BUDGET / 1048576} MiB`);
      assert.throws(() => dec.write(Buffer.from('\n#1\nX')), (e: unknown) => e instanceof FramingError && e.code === 'MESSAGE_TOO_LARGE');
    });

    it('chunked: a message of 1-byte chunks within the budget is delivered whole', () => {
      const dec = new FrameDecoder({ maxMessageBytes: BUDGET, framing: 'chunked' });
      for (let i = 0; i < 10; i++) assert.deepEqual(dec.write(block), []);
      const [msg] = dec.write(Buffer.from('\n##\n'));
      assert.equal(msg.length, 10 * chunksPerBlock);
      assert.ok(msg.every((b) => b === 0x58));
      assert.equal(dec.bufferedBytes, 0);
      assert.equal(dec.allocatedBytes, 0, 'nothing kept after the message was handed out');
    });

    it('eom: one write per byte up to the budget holds one buffer, then fails typed', () => {
      const budget = 256 * 1024;
      const dec = new FrameDecoder({ maxMessageBytes: budget, framing: 'eom' });
      const heapBefore = process.memoryUsage().heapUsed;
      const byte = Buffer.from('x');
      for (let i = 0; i < budget; i++) dec.write(byte);
      assert.equal(dec.bufferedBytes, budget);
      assert.ok(dec.allocatedBytes <= 2 * budget + 16, `allocated ${dec.allocatedBytes}`);
      assert.ok(process.memoryUsage().heapUsed - heapBefore < 16 * 1024 * 1024, 'heap stayed flat');
      let thrown: unknown;
      try {
        for (let i = 0; i < 10; i++) dec.write(byte);
      } catch (err) {
        thrown = err;
      }
      assert.ok(thrown instanceof FramingError && thrown.code === 'MESSAGE_TOO_LARGE', String(thrown));
    });

    it('hello: 1-byte writes held before the framing is chosen are copied, not kept one per write', () => {
      const dec = new FrameDecoder({ maxMessageBytes: 64 * 1024, holdAfterFirstMessage: true });
      dec.write(encodeMessage('<hello/>', 'eom'));
      const wire = encodeMessage('<rpc-reply/>', 'chunked');
      for (const b of wire) dec.write(Buffer.from([b]));
      assert.ok(dec.allocatedBytes <= 4096, `allocated ${dec.allocatedBytes}`);
      assert.deepEqual(dec.setFraming('chunked').map(String), ['<rpc-reply/>']);
    });
  });
});
