import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { ensureBuilt } from '../helpers/build';
import { REPO_ROOT } from '../helpers/redis-server';

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
	name: string;
	keywords: string[];
	license: string;
	dependencies?: Record<string, string>;
	peerDependencies?: Record<string, string>;
	engines?: { node?: string };
	n8n: { n8nNodesApiVersion: number; strict?: boolean; nodes: string[]; credentials: string[] };
};

beforeAll(ensureBuilt, 120_000);

describe('the package as n8n loads it', () => {
	it('is a community node package with no runtime dependencies', () => {
		expect(pkg.name).toBe('n8n-nodes-marketing-redis');
		expect(pkg.keywords).toContain('n8n-community-node-package');
		expect(pkg.license).toBe('MIT');
		expect(pkg.dependencies ?? {}).toEqual({});
		expect(pkg.peerDependencies).toEqual({ 'n8n-workflow': '*' });
		expect(pkg.n8n.n8nNodesApiVersion).toBe(1);
	});

	it('asks for the Node that the oldest supported n8n (2.8.4) itself requires', () => {
		expect(pkg.engines?.node).toBe('>=20.19');
	});

	it('is not in strict mode: its eslint config leaves out the n8n Cloud rules on purpose', () => {
		// strict makes `n8n-node lint` insist on the stock eslint config; a Redis client needs the sockets and
		// timers that n8n Cloud forbids, so eslint.config.mjs uses recommendedWithoutN8nCloudSupport (README).
		expect(pkg.n8n.strict).toBe(false);
		expect(readFileSync(join(REPO_ROOT, 'eslint.config.mjs'), 'utf8')).toContain('recommendedWithoutN8nCloudSupport');
	});

	it('lists both nodes and the credential, each loadable with require', () => {
		const expected: Record<string, string> = {
			'dist/nodes/MarketingRedis/MarketingRedis.node.js': 'MarketingRedis',
			'dist/nodes/MarketingRedisTrigger/MarketingRedisTrigger.node.js': 'MarketingRedisTrigger',
			'dist/credentials/MarketingRedisApi.credentials.js': 'MarketingRedisApi',
		};
		expect([...pkg.n8n.nodes, ...pkg.n8n.credentials].sort()).toEqual(Object.keys(expected).sort());
		for (const [file, className] of Object.entries(expected)) {
			// A fresh node process, as n8n would load it: no jest module registry, no ts.
			const load = spawnSync(
				process.execPath,
				['-e', `const m = require(${JSON.stringify(join(REPO_ROOT, file))}); const c = new m.${className}(); console.log(c.description ? c.description.name : c.name)`],
				{ encoding: 'utf8' },
			);
			expect(load.stderr).toBe('');
			expect(load.stdout.trim()).toMatch(/^marketingRedis(Trigger|Api)?$/);
		}
	});

	it('bundles ioredis into dist instead of requiring it at runtime', () => {
		const driver = readFileSync(join(REPO_ROOT, 'dist/platform/redis-driver.js'), 'utf8');
		expect(driver).not.toMatch(/require\(["']ioredis["']\)/);
		expect(driver).toContain('autoResendUnfulfilledCommands');
		const grep = spawnSync('grep', ['-rlE', 'require\\(["\']ioredis["\']\\)', join(REPO_ROOT, 'dist')], { encoding: 'utf8' });
		expect(grep.stdout).toBe('');
	});

	it('ships icons, codex files and Lua scripts next to the compiled code', () => {
		for (const file of [
			'dist/nodes/MarketingRedis/marketingRedis.svg',
			'dist/nodes/MarketingRedis/marketingRedis.dark.svg',
			'dist/nodes/MarketingRedis/MarketingRedis.node.json',
			'dist/nodes/MarketingRedisTrigger/marketingRedisTrigger.svg',
			'dist/nodes/MarketingRedisTrigger/marketingRedisTrigger.dark.svg',
			'dist/nodes/MarketingRedisTrigger/MarketingRedisTrigger.node.json',
		]) {
			expect(existsSync(join(REPO_ROOT, file))).toBe(true);
		}
	});

	it('packs only what n8n needs', () => {
		const pack = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: REPO_ROOT, encoding: 'utf8' });
		expect(pack.status).toBe(0);
		const files = (JSON.parse(pack.stdout) as Array<{ files: Array<{ path: string }> }>)[0].files.map((f) => f.path);
		for (const file of files) {
			expect(file).toMatch(/^(dist\/(nodes|credentials|platform)\/.+\.(js|svg|json|lua)|package\.json|README\.md|LICENSE)$/);
		}
		expect(files).toContain('dist/platform/redis-driver.js');
		expect(files.some((f) => f.endsWith('.map') || f.startsWith('test/') || f.endsWith('.ts'))).toBe(false);
	});
});
