/**
 * The reliability suite (npm run test:reliability). Every test file starts and stops its own
 * redis-server processes on loopback (it kills, restarts and starves them), so there is no
 * global server here. Files run one at a time: they measure load and latency on a shared
 * 2-core machine, and two of them at once would measure each other.
 */
/** @type {import('jest').Config} */
module.exports = {
	rootDir: '../..',
	preset: 'ts-jest',
	testEnvironment: 'node',
	roots: ['<rootDir>/test/reliability'],
	testMatch: ['**/*.test.ts'],
	transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
	maxWorkers: 1,
	testTimeout: 180000,
	// Figures are printed with console.log; keep them readable without jest's stack decorations.
	verbose: true,
};
