/** CPU and memory of processes from /proc (Linux), for benchmark reports. */
import fs from 'node:fs';
import os from 'node:os';

const TICKS = 100; // USER_HZ on Linux

/** The fields of /proc/<pid>/stat after the command name (field 3, state, is [0]). */
export function statFields(pid: number): string[] {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** CPU seconds (user + system) a process has used so far, children not included. */
export function cpuSeconds(pid: number): number {
  const fields = statFields(pid);
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

/**
 * CPU seconds of a process and of its children that have exited and been waited for (`cutime` +
 * `cstime`): a PostgreSQL postmaster's figure grows by the whole CPU of each backend, autovacuum
 * worker or TimescaleDB job worker that ends, which a reading of the live processes never sees.
 */
export function cpuSecondsWithReapedChildren(pid: number): number {
  const fields = statFields(pid);
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / TICKS;
}

/** Resident memory in bytes. */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** All pids whose command line contains `needle` (e.g. every postgres backend of a cluster). */
export function pidsMatching(needle: string): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      // Arguments are NUL-separated in /proc; compare them joined by spaces.
      if (fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ').includes(needle)) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

/** `roots` and every process descended from them (e.g. a PostgreSQL postmaster and its backends). */
export function processTree(roots: number[]): number[] {
  const parent = new Map<number, number>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      parent.set(Number(d), Number(statFields(Number(d))[1]));
    } catch {
      // gone
    }
  }
  const out = new Set(roots);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, ppid] of parent) {
      if (!out.has(pid) && out.has(ppid)) {
        out.add(pid);
        grew = true;
      }
    }
  }
  return [...out];
}

/** Measures CPU % of a set of processes over an interval. */
export class CpuMeter {
  /** CPU seconds of every process of a group at begin(), and its parent, by pid. */
  private start = new Map<string, { cpu: Map<number, { seconds: number; parent: number }>; at: number }>();
  constructor(private readonly pids: () => Record<string, number[]>) {}
  begin(): void {
    const now = performance.now();
    for (const [name, pids] of Object.entries(this.pids())) this.start.set(name, { cpu: new Map(pids.map((p) => [p, { seconds: safeCpu(p), parent: safeParent(p) }])), at: now });
  }
  /**
   * CPU % per process group since begin() (100 % = one core). Counted per process, each with its
   * exited children (`cpuSecondsWithReapedChildren`): one that started since counts whole; one that
   * exited since is counted through its parent when the parent is in the group (a PostgreSQL
   * cluster's postmaster: short-lived backends and background workers), else left out (never a
   * negative figure when processes come and go). The parent's figure then grows by the child's whole
   * life, so what the child had used by begin() is taken off again: without that, the backends of a
   * killed collector counted minutes of CPU into the 5 s in which they ended.
   */
  end(): Record<string, number> {
    const now = performance.now();
    const out: Record<string, number> = {};
    for (const [name, pids] of Object.entries(this.pids())) {
      const s = this.start.get(name);
      if (!s) continue;
      let used = 0;
      for (const pid of pids) used += Math.max(0, safeCpu(pid) - (s.cpu.get(pid)?.seconds ?? 0));
      const live = new Set(pids);
      for (const [pid, before] of s.cpu) if (!live.has(pid) && live.has(before.parent)) used -= before.seconds;
      out[name] = Math.round((Math.max(0, used) / ((now - s.at) / 1000)) * 1000) / 10;
    }
    return out;
  }
  static cores(): number {
    return os.cpus().length;
  }
}

function safeParent(pid: number): number {
  try {
    return Number(statFields(pid)[1]);
  } catch {
    return 0;
  }
}

function safeCpu(pid: number): number {
  try {
    return cpuSecondsWithReapedChildren(pid);
  } catch {
    return 0;
  }
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/** p-th percentile (0..100) of a list of numbers. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

/**
 * A PostgreSQL cluster's processes as CPU-meter groups: `postgres` (all of them) and the same split by
 * kind, from their titles: `postgres:backends` (client connections: `postgres: <user> <db> <host>
 * <activity>`), `postgres:background` (the live auxiliary processes: WAL writer, checkpointer,
 * background writer, launchers, TimescaleDB's scheduler and job workers) and
 * `postgres:postmaster+ended` (the postmaster itself, which with `cpuSecondsWithReapedChildren`
 * carries every child that ended: autovacuum and job workers, closed connections).
 */
export function postgresGroups(cluster: number[]): Record<string, number[]> {
  const backends: number[] = [];
  const background: number[] = [];
  const postmaster: number[] = [];
  for (const pid of cluster) {
    let title: string;
    try {
      title = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    } catch {
      continue; // gone
    }
    if (!title.startsWith('postgres:')) postmaster.push(pid);
    else if (/^postgres: \S+ \S+ (\[local\]|\d|::)/.test(title)) backends.push(pid);
    else background.push(pid);
  }
  return { postgres: cluster, 'postgres:backends': backends, 'postgres:background': background, 'postgres:postmaster+ended': postmaster };
}

/** CPU seconds the whole machine has been busy so far, all cores (/proc/stat: everything but idle and iowait). */
export function machineBusySeconds(): number {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq + (steal || 0)) / TICKS;
}
