/**
 * A webhook receiver on loopback for the alerting suites (issue 18): records every request,
 * verifies the HMAC-SHA256 signature with the shared secret, can hold requests unanswered
 * (a slow receiver), and deduplicates on the Idempotency-Key header as a receiver should.
 */
import http from 'node:http';
import { signBody } from '../../core/alert-notification';
import { freePort } from '../../scripts/infra/proc';

/** One request the receiver got. */
export interface Arrival {
  key: string;
  body: Record<string, any>;
  signatureOk: boolean;
  answered: boolean;
}

/** Start a receiver whose signatures are checked against `secret`. */
export async function startWebhookReceiver(secret: string) {
  const arrivals: Arrival[] = [];
  let hold: ((key: string) => boolean) | undefined;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const key = String(req.headers['idempotency-key']);
      const expected = signBody(secret, String(req.headers['x-alert-timestamp']), text);
      const arrival: Arrival = { key, body: JSON.parse(text), signatureOk: req.headers['x-alert-signature'] === expected, answered: false };
      arrivals.push(arrival);
      if (hold?.(key)) return; // never answered: the sender dies or times out
      arrival.answered = true;
      res.writeHead(200).end('ok');
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}/hook`,
    arrivals,
    /** Hold (never answer) requests whose key `fn` picks; undefined answers all again. */
    setHold(fn: ((key: string) => boolean) | undefined) {
      hold = fn;
    },
    /**
     * Hold the first request whose key contains `marker` (a slow receiver whose sender dies
     * with the request open), answer every other; returns that request's key once it came.
     */
    holdFirst(marker: string): () => string | undefined {
      let held: string | undefined;
      hold = (key) => {
        if (held !== undefined || !key.includes(marker)) return false;
        held = key;
        return true;
      };
      return () => held;
    },
    /** Distinct transitions answered for a rule, as a deduplicating receiver keeps them. */
    deduplicated(ruleId: number): Map<string, Arrival> {
      const out = new Map<string, Arrival>();
      for (const a of arrivals) if (a.answered && a.body.rule?.id === ruleId && !out.has(a.key)) out.set(a.key, a);
      return out;
    },
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}
