/**
 * `npm run simulator`: start the simulated fleet from configuration and keep
 * it running until Ctrl-C. Prints every device with its address.
 */
import path from 'node:path';
import { loadConfig } from '../core/config';
import { describeMember, startFleet } from './fleet';

async function main() {
  const config = loadConfig();
  const fleet = await startFleet({
    host: config.SIM_HOST,
    gnmiCount: config.SIM_GNMI_COUNT,
    gnmiBasePort: config.SIM_GNMI_BASE_PORT,
    netconfCount: config.SIM_NETCONF_COUNT,
    netconfBasePort: config.SIM_NETCONF_BASE_PORT,
    interfaces: config.SIM_INTERFACES,
    gnmiGenerator: config.SIM_GNMI_GENERATOR,
    keyDir: path.join(config.DATA_DIR, 'simulator-keys'),
    controlPort: config.SIM_CONTROL_PORT,
  });
  for (const m of fleet.members) console.log(JSON.stringify(describeMember(m)));
  console.log(`simulator ready: ${fleet.members.length} devices; control http://${config.SIM_HOST}:${fleet.controlPort}/devices`);
  const stop = async () => {
    await fleet.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
