/**
 * `npm run topology`: the deployment shape on this machine — PostgreSQL, the
 * Temporal server on PostgreSQL with Temporal Web, `migrate` once, three
 * collectors, a control worker, two web processes and a simulated fleet of 30
 * switches — each a separate process configured only by environment, as the
 * container entrypoints run them. Data stays in `$DATA_DIR/topology` for the
 * next run. Ctrl-C stops everything in dependency order.
 */
import path from 'node:path';
import { loadConfig } from '../core/config';
import { role } from '../core/roles';
import { startTopology, type RoleProcess } from './infra/topology';

function line(p: RoleProcess): string {
  const spec = role(p.role);
  return `  ${p.name.padEnd(13)} ${p.url}${spec.healthPath ?? ''}   (pid ${p.pid}, ${spec.port!.env}=${p.port})`;
}

async function main() {
  const started = Date.now();
  const config = loadConfig();
  process.stderr.write('▶ Topology\n');
  // Ctrl-C while starting: finish the current step, then stop what was started.
  const starting = new AbortController();
  const interrupt = () => {
    process.stderr.write('\nInterrupted: stopping what was started…\n');
    starting.abort();
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  const topology = await startTopology({ dir: path.join(config.DATA_DIR, 'topology'), ui: true, env: { LOG_FORMAT: 'text' }, signal: starting.signal }).catch(
    (err: Error) => {
      if (!starting.signal.aborted) throw err;
      process.stderr.write('Stopped.\n');
      process.exit(130);
    },
  );
  process.removeListener('SIGINT', interrupt);
  process.removeListener('SIGTERM', interrupt);
  if (starting.signal.aborted) {
    await topology.stop();
    process.exit(130);
  }
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    process.stderr.write('\nStopping: web, collectors, control, simulator, Temporal, PostgreSQL…\n');
    topology.stop().finally(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const web = topology.webs[0].url!;
  process.stderr.write(
    [
      '',
      `The topology is up (${Math.round((Date.now() - started) / 100) / 10} s): separate processes, configured only by environment.`,
      `  Web app:       ${topology.webs.map((w) => w.url).join('  and  ')}   (same data, same sign-in)`,
      `  Sign in:       ${web}/login   as ${topology.admin.email} / ${topology.admin.password}`,
      `  Temporal Web:  ${topology.ui?.url ?? '(not started)'}   (server ${topology.temporal.address}, PostgreSQL persistence and visibility)`,
      `  Logs:          ${path.join(config.DATA_DIR, 'topology', 'logs')}/<process>.log, Temporal server ${topology.temporal.logFile}`,
      `  Database:      ${topology.databaseUrl.replace(/:[^:@/]+@/, ':***@')}   (password in ${path.join(config.DATA_DIR, 'topology', 'postgres.password')})`,
      `  Simulator:     ${topology.simulator.url}/devices   (${topology.devices.length} devices)`,
      ...topology.collectors.map(line),
      line(topology.control),
      ...topology.webs.map(line),
      'Press Ctrl-C to stop everything.',
      '',
    ].join('\n'),
  );
  // A role that dies takes the topology down (a supervisor would restart it; here we say so).
  const all = [topology.simulator, topology.control, ...topology.collectors, ...topology.webs];
  const died = await Promise.race(all.map((p) => p.child.exited.then((code) => ({ p, code }))));
  if (!stopping) {
    process.stderr.write(`\n${died.p.name} exited with code ${died.code}; stopping everything.\n`);
    stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
