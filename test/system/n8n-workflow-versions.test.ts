/**
 * The built package against every n8n-workflow line it must run on. At run time n8n supplies
 * its own n8n-workflow, and names vanish between lines (createDeferredPromise left in 2.30 and
 * with it every durable update on newer n8n). So: every runtime name dist/ takes from
 * n8n-workflow must exist in each supported version, only the seam (nodes/shared/n8n) may take
 * any, and the built nodes must load and build their descriptions with each version in place.
 *
 * The versions come from the registry (about 140 MB each, installed once into .n8n-e2e/).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

import { ensureBuilt } from '../helpers/build';
import { REPO_ROOT } from '../helpers/redis-server';

const DIST = join(REPO_ROOT, 'dist');
const CACHE = join(REPO_ROOT, '.n8n-e2e', 'n8n-workflow');
/** The oldest line we support (n8n 2.8.4), the last line with createDeferredPromise, the first without. */
const PINNED = ['2.8.0', '2.29.1', '2.30.0'];

function jsFiles(dir: string): string[] {
	return readdirSync(dir).flatMap((name) => {
		const path = join(dir, name);
		if (statSync(path).isDirectory()) return jsFiles(path);
		return name.endsWith('.js') ? [path] : [];
	});
}

/** `n8n_workflow_1.X` for every module binding of require("n8n-workflow"), per built file. */
function runtimeImports(): Map<string, Set<string>> {
	const found = new Map<string, Set<string>>();
	for (const file of jsFiles(DIST)) {
		const text = readFileSync(file, 'utf8');
		const bindings = [...text.matchAll(/(\w+)\s*=\s*(?:__importStar\()?require\(["']n8n-workflow["']\)/g)].map((m) => m[1]);
		const destructured = [...text.matchAll(/\{([^}]*)\}\s*=\s*require\(["']n8n-workflow["']\)/g)].flatMap((m) =>
			m[1].split(',').map((part) => part.split(':')[0].trim()),
		);
		if (bindings.length === 0 && destructured.length === 0 && !/require\(["']n8n-workflow["']\)/.test(text)) continue;
		const names = new Set(destructured.filter(Boolean));
		for (const binding of bindings) {
			for (const m of text.matchAll(new RegExp(`\\b${binding}\\.(\\w+)`, 'g'))) names.add(m[1]);
		}
		found.set(relative(REPO_ROOT, file), names);
	}
	return found;
}

function npm(args: string[], cwd: string): string {
	const result = spawnSync('npm', args, { cwd, encoding: 'utf8' });
	if (result.status !== 0) throw new Error(`npm ${args.join(' ')} failed:\n${result.stderr}`);
	return result.stdout.trim();
}

function newestVersion(): string {
	return npm(['view', 'n8n-workflow@latest', 'version'], REPO_ROOT);
}

/** Installs n8n-workflow@version once into its own folder; returns the package directory. */
function installed(version: string): string {
	const dir = join(CACHE, version);
	const pkgDir = join(dir, 'node_modules', 'n8n-workflow');
	if (existsSync(join(pkgDir, 'package.json'))) return pkgDir;
	mkdirSync(dir, { recursive: true });
	writeFileSync(join(dir, 'package.json'), '{ "private": true }\n');
	// --ignore-scripts: newer lines pull native modules that do not build here and are not needed to load it.
	npm(['install', `n8n-workflow@${version}`, '--ignore-scripts', '--no-audit', '--no-fund', '--no-save', '--loglevel=error'], dir);
	return pkgDir;
}

interface ProbeResult {
	version: string;
	missing: string[];
	nodes: Record<string, string>;
	deferred: string;
}

/**
 * Loads dist/ in a fresh Node process in which require("n8n-workflow") resolves to the given
 * copy, as it does inside that n8n, and reports what it finds.
 */
function probe(pkgDir: string, names: string[]): ProbeResult {
	const script = `
const Module = require('module');
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
	return resolveFilename.call(this, request === 'n8n-workflow' ? ${JSON.stringify(pkgDir)} : request, ...rest);
};
const workflow = require('n8n-workflow');
const version = require(${JSON.stringify(join(pkgDir, 'package.json'))}).version;
const missing = ${JSON.stringify(names)}.filter((name) => workflow[name] === undefined);
const pkg = require(${JSON.stringify(join(REPO_ROOT, 'package.json'))});
const nodes = {};
for (const file of [...pkg.n8n.nodes, ...pkg.n8n.credentials]) {
	const loaded = require(${JSON.stringify(REPO_ROOT)} + '/' + file);
	for (const Type of Object.values(loaded)) {
		const instance = new Type();
		const description = instance.description ?? instance;
		nodes[file] = description.displayName + ' ' + JSON.stringify(description.outputs ?? description.properties.length);
	}
}
const seam = require(${JSON.stringify(join(DIST, 'nodes', 'shared', 'n8n.js'))});
const local = seam.deferredPromise({ helpers: {} });
local.resolve('settled');
local.promise.then((value) => {
	console.log(JSON.stringify({ version, missing, nodes, deferred: value }));
});
`;
	const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
	if (result.status !== 0) throw new Error(`loading dist/ against ${pkgDir} failed:\n${result.stderr}`);
	return JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}') as ProbeResult;
}

let imports: Map<string, Set<string>>;
let names: string[];

beforeAll(() => {
	ensureBuilt();
	imports = runtimeImports();
	names = [...new Set([...imports.values()].flatMap((set) => [...set]))].sort();
}, 120_000);

describe('the build against each supported n8n-workflow', () => {
	it('takes runtime values from n8n-workflow in the seam only, and only names it knows', () => {
		expect([...imports.keys()]).toEqual(['dist/nodes/shared/n8n.js']);
		expect(names).toEqual(['NodeConnectionTypes', 'NodeOperationError']);
	});

	const versions = [...PINNED, 'newest'];
	it.each(versions)('loads with n8n-workflow %s: every imported name exists, nodes build, deferred works', (wanted) => {
		const version = wanted === 'newest' ? newestVersion() : wanted;
		const result = probe(installed(version), names);
		expect(result.version).toBe(version);
		expect(result.missing).toEqual([]);
		expect(Object.keys(result.nodes).sort()).toEqual([
			'dist/credentials/MarketingRedisApi.credentials.js',
			'dist/nodes/MarketingRedis/MarketingRedis.node.js',
			'dist/nodes/MarketingRedisTrigger/MarketingRedisTrigger.node.js',
		]);
		// The trigger's outputs are NodeConnectionTypes.Main, read from this n8n-workflow.
		expect(result.nodes['dist/nodes/MarketingRedisTrigger/MarketingRedisTrigger.node.js']).toBe('Marketing Redis Trigger ["main"]');
		expect(result.deferred).toBe('settled');
	}, 180_000);

	it('2.30 and later really lack createDeferredPromise (what this test exists to catch)', () => {
		const result = probe(installed('2.30.0'), ['createDeferredPromise']);
		expect(result.missing).toEqual(['createDeferredPromise']);
		expect(probe(installed('2.29.1'), ['createDeferredPromise']).missing).toEqual([]);
	}, 180_000);
});
