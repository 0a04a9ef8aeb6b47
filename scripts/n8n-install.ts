// Installs the pinned n8n into a folder of its own (not a dependency of this package) and keeps it
// between runs. Used by `npm start` and `npm run test:e2e`; also runnable alone: `tsx scripts/n8n-install.ts`.
//
// Two workarounds are needed on machines that reach only the npm registry (see the README):
// - n8n pulls `xlsx` from a CDN tarball; an `overrides` entry pins the registry's 0.18.5 instead.
// - some native dependencies download prebuilt binaries in install scripts; we install with
//   --ignore-scripts and then build only sqlite3 (n8n's database) from source.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const N8N_VERSION = '2.8.4';
export const REPO_ROOT = resolve(__dirname, '..');
/** N8N_INSTALL_DIR lets several clones share one install (it is 2.3 GB); empty means the default. */
export const N8N_DIR = resolve(process.env.N8N_INSTALL_DIR || join(REPO_ROOT, '.n8n-e2e', 'n8n'));
const MARKER = join(N8N_DIR, '.installed');

export interface N8nInstall {
	dir: string;
	version: string;
	/** Path of n8n's CLI entry, run with `<node> <bin>`. */
	bin: string;
	/** The Node.js binary this n8n runs on (the newest n8n line needs a newer Node than the machine's). */
	node: string;
}

function installedVersion(): string | undefined {
	try {
		const marker = readFileSync(MARKER, 'utf8').trim();
		const pkg = JSON.parse(readFileSync(join(N8N_DIR, 'node_modules', 'n8n', 'package.json'), 'utf8')) as {
			version: string;
		};
		return marker === pkg.version ? pkg.version : undefined;
	} catch {
		return undefined;
	}
}

function describe(): N8nInstall {
	return { dir: N8N_DIR, version: N8N_VERSION, bin: join(N8N_DIR, 'node_modules', 'n8n', 'bin', 'n8n'), node: process.execPath };
}

function run(cmd: string, args: string[], cwd: string, log: (line: string) => void): Promise<void> {
	return new Promise((resolveRun, reject) => {
		const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
		let tail = '';
		const collect = (d: Buffer) => {
			tail = (tail + d.toString()).slice(-6000);
		};
		child.stdout.on('data', collect);
		child.stderr.on('data', collect);
		const ticker = setInterval(() => log(`  ... still running: ${cmd} ${args.join(' ')}`), 30_000);
		child.on('error', (error) => {
			clearInterval(ticker);
			reject(error);
		});
		child.on('exit', (code) => {
			clearInterval(ticker);
			if (code === 0) resolveRun();
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

/** A directory lock so `npm start` and the e2e suite never install into the same folder at once. */
async function withLock<T>(fn: () => Promise<T>, log: (line: string) => void): Promise<T> {
	const lock = `${N8N_DIR}.lock`;
	mkdirSync(resolve(N8N_DIR, '..'), { recursive: true });
	const deadline = Date.now() + 15 * 60_000;
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

/** Installs n8n N8N_VERSION unless that exact version is already there. */
export async function ensureN8n(log: (line: string) => void = console.log): Promise<N8nInstall> {
	if (installedVersion() === N8N_VERSION) return describe();
	return withLock(async () => {
		if (installedVersion() === N8N_VERSION) return describe();
		const started = Date.now();
		log(`Installing n8n ${N8N_VERSION} into ${N8N_DIR} (one time, about 4 minutes and 2.3 GB) ...`);
		rmSync(MARKER, { force: true });
		mkdirSync(N8N_DIR, { recursive: true });
		writeFileSync(
			join(N8N_DIR, 'package.json'),
			JSON.stringify(
				{
					name: 'n8n-runtime-for-marketing-redis',
					private: true,
					description: 'n8n used by npm start and npm run test:e2e; not part of the package',
					dependencies: { n8n: N8N_VERSION },
					overrides: { xlsx: '0.18.5' },
				},
				null,
				'\t',
			) + '\n',
		);
		await run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], N8N_DIR, log);
		log(`  npm install done after ${Math.round((Date.now() - started) / 1000)} s; building sqlite3 ...`);
		await run('npm', ['rebuild', 'sqlite3', '--loglevel=error'], N8N_DIR, log);
		const pkg = JSON.parse(readFileSync(join(N8N_DIR, 'node_modules', 'n8n', 'package.json'), 'utf8')) as {
			version: string;
		};
		if (pkg.version !== N8N_VERSION) throw new Error(`installed n8n ${pkg.version}, expected ${N8N_VERSION}`);
		writeFileSync(MARKER, pkg.version + '\n');
		log(`n8n ${N8N_VERSION} installed in ${Math.round((Date.now() - started) / 1000)} s`);
		return describe();
	}, log);
}

if (require.main === module) {
	ensureN8n()
		.then((install) => {
			console.log(`n8n ${install.version} ready: node ${install.bin}`);
			if (!existsSync(install.bin)) process.exit(1);
		})
		.catch((error: Error) => {
			console.error(error.message);
			process.exit(1);
		});
}
