/**
 * The default tier (npm test): unit and integration tests against one shared redis-server,
 * each file a few seconds at most. Tests that start topologies, kill or cut off servers, or
 * wait out timeouts and backoffs live in test/system/ (npm run test:system); the reliability
 * and e2e suites have their own commands too (npm run test:reliability, test:e2e). Every other
 * *.test.ts under test/ lands here, so a new folder cannot fall outside every tier.
 */
/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/test/system/', '/test/reliability/', '/test/e2e/'],
  globalSetup: '<rootDir>/test/helpers/global-setup.ts',
  globalTeardown: '<rootDir>/test/helpers/global-teardown.ts',
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json" }] },
  testTimeout: 60000,
  // Tests share one redis-server; two workers keep it busy without starving it on 2 cores.
  maxWorkers: 2,
};
