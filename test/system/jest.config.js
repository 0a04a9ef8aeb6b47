/**
 * The system tier (npm run test:system, run by .ci/run after npm test): Sentinel and Cluster
 * topologies, crash and restart tests that kill redis-server, network cuts, the trigger's
 * hand-over retries and the credential test's timeout budget, and the build against every
 * supported n8n-workflow line. Same harness as the default tier (one shared redis-server from
 * global-setup for the tests that need a plain server; the rest start their own), only these files.
 */
const base = require('../../jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
	...base,
	rootDir: '../..',
	roots: ['<rootDir>/test/system'],
	testPathIgnorePatterns: ['/node_modules/'],
	// Two workers, as when these files ran in the default tier: the failover and crash
	// timings were tuned under that load.
	maxWorkers: 2,
};
