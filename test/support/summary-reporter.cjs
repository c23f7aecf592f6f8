// Spec reporter that also writes the run's counts to $TEST_SUMMARY_FILE (JSON),
// so scripts/test.sh can print one closing `N passed, N failed` over every suite.
const fs = require('fs');
const Mocha = require('mocha');
const { EVENT_RUN_END } = Mocha.Runner.constants;

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const file = process.env.TEST_SUMMARY_FILE;
      if (!file) return;
      const s = runner.stats || {};
      fs.writeFileSync(
        file,
        JSON.stringify({ passed: s.passes || 0, failed: s.failures || 0, pending: s.pending || 0 }),
      );
    });
  }
}
module.exports = SummaryReporter;
