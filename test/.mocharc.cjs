// Shared mocha settings: TypeScript through tsx, generous timeouts for real services.
module.exports = {
  'node-option': ['import=tsx'],
  extension: ['ts'],
  timeout: 30000,
  reporter: require('path').join(__dirname, 'support', 'summary-reporter.cjs'),
  exit: true,
};
