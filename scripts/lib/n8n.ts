// Runs an installed n8n line (scripts/n8n-install.ts) with this package loaded the way users get it from
// Settings > Community Nodes: installed into <user folder>/.n8n/nodes/node_modules. Node types are
// therefore `n8n-nodes-marketing-redis.<node>`, the names the templates in workflows/ use.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { credentialForm } from '../../harness/credential-form';
import { installEnv, type N8nInstall } from '../n8n-install';
import { runCommand, stopChild, stopGroup, waitForHttp, type CommandResult } from './process';

export const REPO_ROOT = resolve(__dirname, '..', '..');
export const PACKAGE_NAME = 'n8n-nodes-marketing-redis';
export const WORKFLOWS_DIR = join(REPO_ROOT, 'workflows');

/** The id and name every template's credential reference uses, so imported templates run at once. */
export const TEMPLATE_CREDENTIAL = { id: 'mktRedisLocal001', name: 'Marketing Redis (local)' };

export interface RedisTarget {
	host: string;
	port: number;
	username?: string;
	password?: string;
	tls?: boolean;
}

/**
 * The environment n8n runs with: its own user folder, no phoning home, loopback only unless told otherwise.
 * Each n8n process also needs its own task-broker port (default 5679), or a second instance fails to start its Code-node runner.
 */
export function n8nEnv(userFolder: string, port: number, brokerPort: number, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
	const env: NodeJS.ProcessEnv = { ...process.env };
	// A custom-extension folder from the caller's shell would load a second copy of the nodes.
	delete env.N8N_CUSTOM_EXTENSIONS;
	return {
		...env,
		N8N_USER_FOLDER: userFolder,
		N8N_PORT: String(port),
		N8N_RUNNERS_BROKER_PORT: String(brokerPort),
		N8N_LISTEN_ADDRESS: process.env.N8N_LISTEN_ADDRESS ?? '127.0.0.1',
		N8N_HOST: 'localhost',
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_TEMPLATES_ENABLED: 'false',
		N8N_PERSONALIZATION_ENABLED: 'false',
		N8N_HIRING_BANNER_ENABLED: 'false',
		N8N_COMMUNITY_PACKAGES_ENABLED: 'true',
		N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'true',
		N8N_SECURE_COOKIE: 'false',
		N8N_LOG_LEVEL: process.env.N8N_LOG_LEVEL ?? 'info',
		NODE_ENV: 'production',
		...extra,
	};
}

/** `npm pack` of the built package (dist/ must exist): the exact files users install. */
export async function packPackage(outDir: string): Promise<string> {
	if (!existsSync(join(REPO_ROOT, 'dist', 'nodes', 'MarketingRedis', 'MarketingRedis.node.js'))) {
		throw new Error('dist/ has no built nodes: run `npm run build` first');
	}
	mkdirSync(outDir, { recursive: true });
	const result = await runCommand('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', outDir], {
		cwd: REPO_ROOT,
	});
	if (result.code !== 0) throw new Error(`npm pack failed:\n${result.stderr}`);
	const parsed = JSON.parse(result.stdout.slice(result.stdout.indexOf('['))) as Array<{ filename: string }>;
	return join(outDir, parsed[0].filename);
}

/**
 * Installs the tarball as a community package into the user folder, as n8n's own installer does.
 * The peer dependency n8n-workflow is left out: n8n provides it.
 */
export async function installPackage(userFolder: string, tarball: string): Promise<void> {
	const nodesDir = join(userFolder, '.n8n', 'nodes');
	mkdirSync(nodesDir, { recursive: true });
	const manifest = join(nodesDir, 'package.json');
	if (!existsSync(manifest)) {
		writeFileSync(manifest, JSON.stringify({ name: 'installed-nodes', private: true, dependencies: {} }, null, 2));
	}
	// A reinstall of the same version must pick up the new build, so remove the old copy first.
	rmSync(join(nodesDir, 'node_modules', PACKAGE_NAME), { recursive: true, force: true });
	const result = await runCommand(
		'npm',
		['install', tarball, '--legacy-peer-deps', '--omit=dev', '--no-audit', '--no-fund', '--no-package-lock', '--ignore-scripts', '--loglevel=error'],
		{ cwd: nodesDir },
	);
	if (result.code !== 0) throw new Error(`installing the package into ${nodesDir} failed:\n${result.stderr}`);
}

/** Credential data in the shape `n8n import:credentials` takes (n8n encrypts it on import). */
export function credentialExport(redis: RedisTarget, id = TEMPLATE_CREDENTIAL.id, name = TEMPLATE_CREDENTIAL.name) {
	return {
		id,
		name,
		type: 'marketingRedisApi',
		data: credentialForm({
			host: redis.host,
			port: redis.port,
			user: redis.username ?? '',
			password: redis.password ?? '',
			tls: redis.tls ?? false,
		}),
	};
}

/** The template files, sorted. */
export function templateFiles(dir = WORKFLOWS_DIR): string[] {
	return readdirSync(dir)
		.filter((f) => f.endsWith('.json'))
		.sort()
		.map((f) => join(dir, f));
}

export interface WorkflowFile {
	id: string;
	name: string;
	active?: boolean;
	nodes: Array<{ name: string; type: string; typeVersion: number; parameters: Record<string, unknown>; credentials?: Record<string, unknown> }>;
	connections: Record<string, unknown>;
}

export function readWorkflow(file: string): WorkflowFile {
	return JSON.parse(readFileSync(file, 'utf8')) as WorkflowFile;
}

export class N8nCli {
	constructor(
		readonly install: N8nInstall,
		readonly env: NodeJS.ProcessEnv,
	) {}

	run(args: string[], timeoutMs = 180_000): Promise<CommandResult> {
		return runCommand(this.install.node, [this.install.bin, ...args], { env: installEnv(this.install, this.env), timeoutMs });
	}

	async must(args: string[], timeoutMs?: number): Promise<CommandResult> {
		const result = await this.run(args, timeoutMs);
		if (result.code !== 0) {
			throw new Error(`n8n ${args.join(' ')} exited with ${result.code}:\n${tail(result.stdout + result.stderr)}`);
		}
		return result;
	}

	/** Imports a credential from plain data via a file that is deleted right after. */
	async importCredentials(credentials: unknown[], scratchDir: string): Promise<void> {
		mkdirSync(scratchDir, { recursive: true, mode: 0o700 });
		const file = join(scratchDir, `credentials-${process.pid}.json`);
		writeFileSync(file, JSON.stringify(credentials), { mode: 0o600 });
		try {
			await this.must(['import:credentials', `--input=${file}`]);
		} finally {
			rmSync(file, { force: true });
		}
	}

	async importWorkflow(file: string): Promise<void> {
		await this.must(['import:workflow', `--input=${file}`]);
	}
}

export function tail(text: string, max = 4000): string {
	return text.length > max ? `...${text.slice(-max)}` : text;
}

export interface N8nServer {
	url: string;
	child: ChildProcess;
	logs(): string;
	stop(): Promise<void>;
}

/** Starts `n8n start` and waits until its health check answers. */
export async function startN8nServer(
	install: N8nInstall,
	env: NodeJS.ProcessEnv,
	{
		onLine,
		timeoutMs = 180_000,
		detached = false,
	}: {
		onLine?: (line: string) => void;
		timeoutMs?: number;
		/** Own process group, stopped as a group (with its task runner): `npm start` uses it. */
		detached?: boolean;
	} = {},
): Promise<N8nServer> {
	const port = Number(env.N8N_PORT);
	const url = `http://localhost:${port}`;
	const child = spawn(install.node, [install.bin, 'start'], { env: installEnv(install, env), stdio: ['ignore', 'pipe', 'pipe'], detached });
	let log = '';
	const collect = (d: Buffer) => {
		const text = d.toString();
		log = (log + text).slice(-200_000);
		if (onLine) for (const line of text.split('\n')) if (line.trim()) onLine(line);
	};
	child.stdout?.on('data', collect);
	child.stderr?.on('data', collect);
	const server: N8nServer = {
		url,
		child,
		logs: () => log,
		stop: () => (detached ? stopGroup(child, 30_000) : stopChild(child, 30_000)),
	};
	try {
		const alive = () => (child.exitCode !== null ? `n8n exited with ${child.exitCode}:\n${tail(log)}` : undefined);
		await waitForHttp(`${url}/healthz/readiness`, { timeoutMs, alive });
		// Readiness comes before the REST routes are mounted; the editor needs those.
		await waitForHttp(`${url}/rest/settings`, { timeoutMs, alive });
	} catch (error) {
		await server.stop();
		throw error;
	}
	return server;
}
