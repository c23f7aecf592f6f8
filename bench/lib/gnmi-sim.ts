/**
 * A simulator process with only gNMI targets (one interface each) for the per-component
 * benchmarks that dial the protocol layer without the rest of the system.
 */
import path from 'node:path';
import { isPortOpen, startChild, waitFor, type ManagedChild } from '../../scripts/infra/proc';
import { entryArgs } from '../../scripts/infra/entry';
import { freePortBlock } from '../../scripts/infra/temporal-server';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** Start `count` gNMI targets; returns the process and their ports. `nodeFlags` go before the entry (e.g. `--cpu-prof`). */
export async function startGnmiSimulator(count: number, nodeFlags: string[] = []): Promise<{ child: ManagedChild; ports: number[] }> {
  // Ports as bench/lib/system.ts picks them: a random block of targets collided with other runs' ports on a shared machine.
  const controlPort = await freePortBlock(1);
  const child = startChild('simulator', process.execPath, [...nodeFlags, ...entryArgs(ROOT, 'simulator/main.ts')], {
    cwd: ROOT,
    quiet: true,
    env: { ...process.env, SIM_GNMI_COUNT: String(count), SIM_GNMI_BASE_PORT: '0', SIM_NETCONF_COUNT: '0', SIM_INTERFACES: '1', SIM_CONTROL_PORT: String(controlPort), LOG_LEVEL: 'warn' },
  });
  try {
    await waitFor('the simulator', () => isPortOpen(controlPort), 120_000);
    const ports = ((await (await fetch(`http://127.0.0.1:${controlPort}/devices`)).json()) as Array<{ port: number }>).map((m) => m.port);
    return { child, ports };
  } catch (err) {
    await child.stop();
    throw err;
  }
}
