// `npm start`: a working n8n editor with this package, its credential and the workflow templates.
// 1. Redis: REDIS_URL, or a local redis-server with redis.conf and a generated password (.dev/).
// 2. n8n: the oldest tested line (2.8.4, on the machine's Node), installed once into .n8n-e2e/n8n (scripts/n8n-install.ts).
// 3. The built package, packed and installed into .dev/n8n/.n8n/nodes like a community package.
// 4. The credential "Marketing Redis (local)" and every workflows/*.json template imported.
// 5. `n8n start`, then the editor URL.
// SIGINT, SIGTERM or SIGHUP to any process of the `npm → sh → tsx → node` chain stops n8n (with its task
// runner) and the redis-server it started: n8n and redis-server lead process groups of their own and are
// stopped group-wise; the inner process also watches its ancestors (npm passes SIGTERM only to its shell,
// which dies without passing it on; tsx does not pass SIGHUP on), and a watchdog kills the groups should the
// inner process itself be killed hard.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

import { ensureN8n } from './n8n-install';
import { ensureDevRedis, type DevRedis } from './lib/dev-redis';
import {
	credentialExport,
	installPackage,
	N8nCli,
	n8nEnv,
	packPackage,
	REPO_ROOT,
	startN8nServer,
	templateFiles,
	type N8nServer,
} from './lib/n8n';
import {
	freePort,
	listProcesses,
	npmAncestors,
	portIsFree,
	startWatchdog,
	stopAllChildren,
	watchAncestors,
	type Watchdog,
} from './lib/process';

export interface StackOptions {
	/** Holds the dev Redis data and password, the n8n user folder and the packed tarball. */
	devDir?: string;
	/** Editor port; default N8N_PORT or 5678 (a free one when that is taken). */
	port?: number;
	log?: (line: string) => void;
	/** Aborts the start between steps: nothing new is spawned once it fires. */
	signal?: AbortSignal;
	/** Learns each process group started (redis-server, n8n), so it can be killed should we die hard. */
	watchdog?: Watchdog;
}

export interface Stack {
	url: string;
	redis: DevRedis;
	server: N8nServer;
	userFolder: string;
	stop(): Promise<void>;
}

/**
 * Imports the templates that are new or changed since the last start, so edits made in the editor survive
 * restarts for unchanged templates. One `import:workflow --separate` for all of them: each CLI call boots n8n.
 */
async function importTemplates(cli: N8nCli, userFolder: string, scratch: string, log: (line: string) => void): Promise<void> {
	const stateFile = join(userFolder, 'imported-templates.json');
	const state: Record<string, string> = existsSync(stateFile) ? JSON.parse(readFileSync(stateFile, 'utf8')) : {};
	const files = templateFiles();
	const changed = files.filter((file) => state[basename(file)] !== hashOf(file));
	if (changed.length > 0) {
		const dir = join(scratch, 'templates');
		rmSync(dir, { recursive: true, force: true });
		mkdirSync(dir, { recursive: true });
		for (const file of changed) copyFileSync(file, join(dir, basename(file)));
		await cli.must(['import:workflow', '--separate', `--input=${dir}`]);
		rmSync(dir, { recursive: true, force: true });
		for (const file of changed) state[basename(file)] = hashOf(file);
		writeFileSync(stateFile, JSON.stringify(state, null, 2));
	}
	log(`Templates: ${changed.length} imported, ${files.length - changed.length} unchanged`);
}

function hashOf(file: string): string {
	return createHash('sha256').update(readFileSync(file)).digest('hex');
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
	const log = options.log ?? ((line: string) => console.log(line));
	const devDir = options.devDir ?? process.env.MARKETING_REDIS_DEV_DIR ?? join(REPO_ROOT, '.dev');
	mkdirSync(devDir, { recursive: true, mode: 0o700 });
	const userFolder = join(devDir, 'n8n');
	mkdirSync(userFolder, { recursive: true });

	const signal = options.signal;
	signal?.throwIfAborted();
	const redis = await ensureDevRedis(devDir, log);
	if (redis.pgid !== undefined) options.watchdog?.watch(redis.pgid);
	try {
		signal?.throwIfAborted();
		const install = await ensureN8n(log);
		const wanted = options.port ?? Number(process.env.N8N_PORT ?? 5678);
		const port = (await portIsFree(wanted)) ? wanted : await freePort();
		const env = n8nEnv(userFolder, port, await freePort());
		const cli = new N8nCli(install, env);

		log(`Package: packing dist/ and installing it into ${join(userFolder, '.n8n', 'nodes')}`);
		const tarball = await packPackage(join(devDir, 'pack'));
		signal?.throwIfAborted();
		await installPackage(userFolder, tarball);

		// Always re-imported: the Redis port or password may differ from the last start.
		signal?.throwIfAborted();
		await cli.importCredentials([credentialExport(redis)], join(devDir, 'tmp'));
		signal?.throwIfAborted();
		await importTemplates(cli, userFolder, join(devDir, 'tmp'), log);

		signal?.throwIfAborted();
		log(`n8n ${install.version}: starting (about 30 s) ...`);
		const server = await startN8nServer(install, env, {
			onLine: process.env.N8N_START_VERBOSE ? (line) => log(`[n8n] ${line}`) : undefined,
			detached: true,
		});
		if (server.child.pid !== undefined) options.watchdog?.watch(server.child.pid);
		let stopped = false;
		return {
			url: server.url,
			redis,
			server,
			userFolder,
			async stop() {
				if (stopped) return;
				stopped = true;
				await server.stop();
				await redis.stop();
			},
		};
	} catch (error) {
		await redis.stop();
		throw error;
	}
}

/** True when n8n has no owner account yet (the public settings say so on every supported n8n line). */
async function ownerMissing(url: string): Promise<boolean | undefined> {
	try {
		const res = await fetch(`${url}/rest/settings`, { signal: AbortSignal.timeout(5000) });
		const body = (await res.json()) as { data?: { userManagement?: { showSetupOnFirstLoad?: boolean } } };
		return body.data?.userManagement?.showSetupOnFirstLoad;
	} catch {
		return undefined;
	}
}

async function main(): Promise<void> {
	// A closed terminal turns every later console.log into EIO/EPIPE errors; unhandled, the first one would
	// end this process in the middle of stopping n8n and Redis.
	for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

	const watchdog = startWatchdog();
	const abort = new AbortController();
	let stack: Stack | undefined;
	let stopping = false;
	const shutdown = (reason: string, code = 0) => {
		if (stopping) return;
		stopping = true;
		abort.abort();
		console.log(`\n${reason}: stopping n8n and Redis ...`);
		const started = Date.now();
		// Before the stack is up, whatever runs (an n8n CLI import, n8n booting, redis-server) is a child of ours.
		const stop = stack ? stack.stop() : stopAllChildren([watchdog.pid]);
		stop
			.then(() => console.log(`Stopped in ${((Date.now() - started) / 1000).toFixed(1)} s.`))
			.catch((error: Error) => {
				console.error(error.message);
				code = 1;
			})
			.finally(() => {
				watchdog.release();
				process.exit(code);
			});
	};
	for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => shutdown(signal));
	watchAncestors(npmAncestors(), (gone) => shutdown(`${gone.comm} (pid ${gone.pid}) exited`));
	// On Linux every process group a child of ours leads goes to the watchdog as soon as it appears, also
	// while n8n is still booting (its handle comes back only once it answers).
	const scan = setInterval(() => {
		for (const p of listProcesses()) if (p.ppid === process.pid && p.pgid === p.pid && p.pid !== watchdog.pid) watchdog.watch(p.pid);
	}, 500);
	scan.unref();

	try {
		stack = await startStack({ signal: abort.signal, watchdog });
	} catch (error) {
		if (stopping) return; // shutdown() is under way and exits
		throw error;
	}
	// A signal while n8n answered its first request: shutdown() already stops n8n, a child of ours by then.
	if (stopping) return;
	const setup = await ownerMissing(stack.url);
	console.log('');
	console.log(`  n8n editor: ${stack.url}`);
	console.log(`  Redis:      ${stack.redis.describe} (credential "Marketing Redis (local)")`);
	if (setup === false) console.log('  Sign in with your owner account; the templates are under Workflows.');
	else console.log('  First visit: create the owner account, then open Workflows to find the templates.');
	console.log('  Ctrl-C (or SIGTERM/SIGHUP to this process or npm) stops n8n and the Redis this command started.');
	console.log('');
	const running = stack;
	running.server.child.once('exit', (code) => {
		if (stopping) return;
		stopping = true;
		console.error(`n8n exited unexpectedly (code ${code}); last output:\n${running.server.logs().slice(-3000)}`);
		void running
			.stop()
			.finally(() => {
				watchdog.release();
				process.exit(1);
			});
	});
}

if (require.main === module) {
	main().catch((error: Error) => {
		console.error(`npm start failed: ${error.message}`);
		process.exit(1);
	});
}
