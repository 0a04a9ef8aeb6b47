import tsParser from '@typescript-eslint/parser';
import { configs } from '@n8n/eslint-plugin-community-nodes';

// We use the community-node rules WITHOUT the n8n Cloud restrictions: a Redis client needs
// raw TCP/TLS sockets (net, tls via ioredis) and timers for reconnect backoff, which n8n
// Cloud does not allow, so this package is for self-hosted n8n only. The cloud-only rules
// are `no-restricted-globals` and `no-restricted-imports`; every other rule applies.
export default [
	{
		ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.n8n-e2e/**', '.dev/**', 'gulpfile.js', 'scripts/**', 'bench/**', 'test/**', 'harness/**', 'workflows/**'],
	},
	{
		// package.json is linted too (runtime dependencies, n8n section, files, author...);
		// typescript-estree parses .json files as one expression, which those rules expect.
		files: ['**/*.ts', 'package.json'],
		languageOptions: { parser: tsParser, parserOptions: { ecmaVersion: 2022, sourceType: 'module' } },
	},
	{ files: ['**/*.ts', 'package.json'], ...configs.recommendedWithoutN8nCloudSupport },
	{
		// platform/ is the n8n-free client (the Python side's redis_manager.py counterpart): it
		// cannot import NodeApiError/NodeOperationError by design. The n8n layer wraps every
		// error that reaches a node into a NodeOperationError (nodes/shared/errors.ts).
		files: ['platform/**/*.ts'],
		rules: { '@n8n/community-nodes/require-node-api-error': 'off' },
	},
];
