/** The interfaces table of a device page: in/out bits/s, errors and oper-status from the newest samples. */
import type { Knex } from 'knex';
import { interfaceSeries, newestValues } from '../../../storage/newest-points';

/** One interface row. */
export interface InterfaceRow {
  name: string;
  operStatus?: string;
  inBps?: number;
  outBps?: number;
  inErrors?: number;
  outErrors?: number;
  /** Newest counter sample of the row (ms). */
  updatedAt?: number;
  /** Spacing of the two newest counter samples (ms): the row's sample interval, for staleness. */
  intervalMs?: number;
  /** When the newest oper-status was received (ms). */
  operStatusAt?: number;
}

// OpenConfig (gNMI) and ietf-interfaces (NETCONF) name the same leaves differently; ietf-interfaces
// has the legacy /interfaces-state tree (RFC 7223) and the NMDA /interfaces tree (RFC 8343).
const OPENCONFIG_LEAF = /^\/interfaces\/interface\[name=((?:\\.|[^\]\\])*)\]\/state\/(oper-status|counters\/(in-octets|out-octets|in-errors|out-errors))$/;
const IETF_LEAF = /^\/interfaces-state\/interface\[name=((?:\\.|[^\]\\])*)\]\/(oper-status|statistics\/(in-octets|out-octets|in-errors|out-errors))$/;
const IETF_NMDA_LEAF = /^\/interfaces\/interface\[name=((?:\\.|[^\]\\])*)\]\/(oper-status|statistics\/(in-octets|out-octets|in-errors|out-errors))$/;

/** The interface name and leaf of a path in any of the three models, or null. */
export function interfaceLeaf(path: string): RegExpExecArray | null {
  return OPENCONFIG_LEAF.exec(path) ?? IETF_LEAF.exec(path) ?? IETF_NMDA_LEAF.exec(path);
}

/** Interfaces of a device with their newest counters (rates from the two newest samples). */
export async function deviceInterfaces(db: Knex, deviceId: number): Promise<InterfaceRow[]> {
  const series = await interfaceSeries(db, deviceId);
  const wanted = series.map((s) => ({ ...s, m: interfaceLeaf(s.path) })).filter((s) => s.m);
  if (wanted.length === 0) return [];
  const numIds = wanted.filter((s) => s.kind === 'number').map((s) => s.id);
  const textIds = wanted.filter((s) => s.kind === 'text').map((s) => s.id);
  const [nums, texts] = await Promise.all([newestValues(db, 'samples', numIds, 2), newestValues(db, 'states', textIds, 1)]);
  const samples = new Map<number, Array<{ t: number; v: number }>>();
  for (const r of nums.rows as Array<{ s: number; t: number; v: number }>) {
    const list = samples.get(Number(r.s)) ?? [];
    list.push({ t: r.t, v: r.v });
    samples.set(Number(r.s), list);
  }
  const states = new Map((texts.rows as Array<{ s: number; t: number; v: string }>).map((r) => [Number(r.s), r]));
  const rows = new Map<string, InterfaceRow>();
  for (const s of wanted) {
    const name = s.m![1].replace(/\\(.)/g, '$1');
    const row = rows.get(name) ?? { name };
    rows.set(name, row);
    const leaf = s.m![3] ?? s.m![2];
    if (leaf === 'oper-status') {
      const st = states.get(s.id);
      if (st) {
        row.operStatus = st.v;
        row.operStatusAt = st.t;
      }
      continue;
    }
    const [newest, older] = samples.get(s.id) ?? [];
    if (!newest) continue;
    row.updatedAt = Math.max(row.updatedAt ?? 0, newest.t);
    if (older && newest.t > older.t) row.intervalMs = Math.max(row.intervalMs ?? 0, newest.t - older.t);
    const rate = older && newest.t > older.t && newest.v >= older.v ? ((newest.v - older.v) * 1000) / (newest.t - older.t) : undefined;
    if (leaf === 'in-octets') row.inBps = rate === undefined ? undefined : rate * 8;
    else if (leaf === 'out-octets') row.outBps = rate === undefined ? undefined : rate * 8;
    else if (leaf === 'in-errors') row.inErrors = newest.v;
    else if (leaf === 'out-errors') row.outErrors = newest.v;
  }
  return [...rows.values()].sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
}
