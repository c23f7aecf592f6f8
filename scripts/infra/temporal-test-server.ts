/**
 * Temporal's time-skipping test server for workflow tests. The TypeScript SDK would
 * download it from temporal.download, which build machines here cannot reach; the same
 * server is the Java artifact io.temporal:temporal-test-server on Maven Central. It is
 * fetched once with Maven (Debian's JRE and maven packages) into the project's build
 * cache and started through a small launcher that TestWorkflowEnvironment runs as
 * `<launcher> <port>` (ADR 085).
 */
import fs from 'node:fs';
import path from 'node:path';
import { aptInstall, isRoot } from './apt';
import { cacheRoot, onPath } from './go-tools';
import { run, ticker } from './proc';

/** Version of io.temporal:temporal-test-server (the Java SDK release it comes with). */
export const TEMPORAL_TEST_SERVER_VERSION = '1.31.0';

/** Path of an executable that starts the time-skipping test server on the port it is given, fetching it when missing. */
export async function ensureTemporalTestServer(): Promise<string> {
  const dir = path.join(cacheRoot(), `temporal-test-server-${TEMPORAL_TEST_SERVER_VERSION}`);
  const launcher = path.join(dir, 'temporal-test-server');
  const done = path.join(dir, '.installed');
  if (fs.existsSync(done)) return launcher;
  if (!onPath('java') || !onPath('mvn')) {
    if (!isRoot()) throw new Error('the time-skipping test server needs Java 17 and Maven: apt-get install openjdk-17-jre-headless maven');
    await aptInstall('Java and Maven (Temporal test server)', ['openjdk-17-jre-headless', 'maven']);
  }
  process.stderr.write(`Fetching io.temporal:temporal-test-server ${TEMPORAL_TEST_SERVER_VERSION} from Maven Central into ${dir} (first run only)…\n`);
  const stop = ticker('fetching the Temporal test server');
  try {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'pom.xml'),
      `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>switch-telemetry</groupId><artifactId>temporal-test-server</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>io.temporal</groupId><artifactId>temporal-test-server</artifactId><version>${TEMPORAL_TEST_SERVER_VERSION}</version></dependency>
  </dependencies>
</project>
`,
    );
    const repo = path.join(cacheRoot(), 'maven-repository');
    await run('mvn', ['-B', '-q', 'dependency:copy-dependencies', '-DoutputDirectory=lib', `-Dmaven.repo.local=${repo}`], { cwd: dir, quiet: true });
  } finally {
    stop();
  }
  // A shell launcher: the SDK runs it with the port as its only argument.
  fs.writeFileSync(launcher, `#!/bin/sh\nexec java -cp '${path.join(dir, 'lib')}/*' io.temporal.testserver.TestServer "$@"\n`, { mode: 0o755 });
  fs.writeFileSync(done, `${TEMPORAL_TEST_SERVER_VERSION}\n`);
  return launcher;
}
