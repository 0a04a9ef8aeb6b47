/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The reliability and e2e suites have their own commands (npm run test:reliability, test:e2e).
  testPathIgnorePatterns: ['/node_modules/', '/test/reliability/', '/test/e2e/'],
  globalSetup: '<rootDir>/test/helpers/global-setup.ts',
  globalTeardown: '<rootDir>/test/helpers/global-teardown.ts',
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json" }] },
  testTimeout: 60000,
  // Tests share one redis-server; two workers keep it busy without starving it on 2 cores.
  maxWorkers: 2,
};
