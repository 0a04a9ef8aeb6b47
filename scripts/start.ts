// `npm start`: a working n8n editor with this package, its credential and the workflow templates.
// 1. Redis: REDIS_URL, or a local redis-server with redis.conf and a generated password (.dev/).
// 2. n8n: the oldest tested line (2.8.4, on the machine's Node), installed once into .n8n-e2e/n8n (scripts/n8n-install.ts).
// 3. The built package, packed and installed into .dev/n8n/.n8n/nodes like a community package.
// 4. The credential "Marketing Redis (local)" and every workflows/*.json template imported.
// 5. `n8n start`, then the editor URL. Ctrl-C stops n8n and the redis-server it started.
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
import { freePort, portIsFree } from './lib/process';

export interface StackOptions {
	/** Holds the dev Redis data and password, the n8n user folder and the packed tarball. */
	devDir?: string;
	/** Editor port; default N8N_PORT or 5678 (a free one when that is taken). */
	port?: number;
	log?: (line: string) => void;
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

	const redis = await ensureDevRedis(devDir, log);
	try {
		const install = await ensureN8n(log);
		const wanted = options.port ?? Number(process.env.N8N_PORT ?? 5678);
		const port = (await portIsFree(wanted)) ? wanted : await freePort();
		const env = n8nEnv(userFolder, port, await freePort());
		const cli = new N8nCli(install, env);

		log(`Package: packing dist/ and installing it into ${join(userFolder, '.n8n', 'nodes')}`);
		const tarball = await packPackage(join(devDir, 'pack'));
		await installPackage(userFolder, tarball);

		// Always re-imported: the Redis port or password may differ from the last start.
		await cli.importCredentials([credentialExport(redis)], join(devDir, 'tmp'));
		await importTemplates(cli, userFolder, join(devDir, 'tmp'), log);

		log(`n8n ${install.version}: starting (about 30 s) ...`);
		const server = await startN8nServer(install, env, {
			onLine: process.env.N8N_START_VERBOSE ? (line) => log(`[n8n] ${line}`) : undefined,
		});
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

async function main(): Promise<void> {
	const stack = await startStack();
	console.log('');
	console.log(`  n8n editor: ${stack.url}`);
	console.log(`  Redis:      ${stack.redis.describe} (credential "Marketing Redis (local)")`);
	console.log('  First visit: create the owner account, then open Workflows to find the templates.');
	console.log('  Ctrl-C stops n8n and the Redis this command started.');
	console.log('');
	let stopping = false;
	const shutdown = (signal: string) => {
		if (stopping) return;
		stopping = true;
		console.log(`\n${signal}: stopping n8n and Redis ...`);
		stack
			.stop()
			.then(() => {
				console.log('Stopped.');
				process.exit(0);
			})
			.catch((error: Error) => {
				console.error(error.message);
				process.exit(1);
			});
	};
	process.on('SIGINT', () => shutdown('SIGINT'));
	process.on('SIGTERM', () => shutdown('SIGTERM'));
	stack.server.child.once('exit', (code) => {
		if (stopping) return;
		console.error(`n8n exited unexpectedly (code ${code}); last output:\n${stack.server.logs().slice(-3000)}`);
		void stack.redis.stop().then(() => process.exit(1));
	});
}

if (require.main === module) {
	main().catch((error: Error) => {
		console.error(`npm start failed: ${error.message}`);
		process.exit(1);
	});
}
