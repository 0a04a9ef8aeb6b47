// Runs `npm start` as a user would (fresh dev folder, no REDIS_URL, so it starts its own redis-server with a
// generated password) and checks the editor, the registered node types, the imported templates and the owner
// hint. Then it checks that `npm start` is a good process: SIGINT, SIGTERM and SIGHUP, each sent to one PID
// (never the group, which is what `kill PID`, systemd or a process manager do), to the npm wrapper and to the
// process npm runs (`tsx scripts/start.ts`), stop n8n, its task runner, redis-server and the watchdog within
// a few seconds, with every port they listened on free again. A SIGKILL to the script's own Node process
// checks the watchdog that cleans up when no handler can run.
// One start per case; later starts reuse the dev folder (templates unchanged, owner exists), and the tsx cases
// skip npm's build step, so the six cases cost about as much as three full starts.
// Standalone: `tsx test/e2e/npm-start.ts [npm:SIGINT,tsx:SIGHUP,node:SIGKILL,...]` (dist/ must be built).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Redis from 'ioredis';

import { REPO_ROOT, TEMPLATE_CREDENTIAL, readWorkflow, tail, templateFiles } from '../../scripts/lib/n8n';
import { deadline, descendants, freePort, isRunning, portIsFree, sleep, type ProcInfo } from '../../scripts/lib/process';
import { expect } from './lib/report';
import { N8nRest } from './lib/rest';
import { OUR_TYPES } from './lib/validate';

/** npm: the `npm start` wrapper; tsx: the process npm runs; node: the script's own Node process under tsx. */
type Target = 'npm' | 'tsx' | 'node';
type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'SIGKILL';
interface SignalCase {
	target: Target;
	signal: StopSignal;
}

const ALL_CASES: SignalCase[] = [
	...(['npm', 'tsx'] as const).flatMap((target) => (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((signal) => ({ target, signal }))),
	// No handler runs on SIGKILL: this is the watchdog's case.
	{ target: 'node', signal: 'SIGKILL' },
];
/** "A few seconds": n8n 2.8.4 with nothing running stops in well under that; the margin is for a loaded machine. */
const STOP_LIMIT_MS = 10_000;

interface Running {
	child: ChildProcess;
	output: () => string;
	exited: Promise<string>;
}

interface Tracked extends ProcInfo {
	cmdline: string;
}

function cmdline(pid: number): string {
	try {
		return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
	} catch {
		return '';
	}
}

/** TCP ports the processes listen on, from their socket inodes and /proc/net/tcp{,6} (state 0A is LISTEN). */
function listeningPorts(pids: number[]): number[] {
	const inodes = new Set<string>();
	for (const pid of pids) {
		let fds: string[] = [];
		try {
			fds = readdirSync(`/proc/${pid}/fd`);
		} catch {
			continue;
		}
		for (const fd of fds) {
			try {
				const m = readlinkSync(`/proc/${pid}/fd/${fd}`).match(/^socket:\[(\d+)\]$/);
				if (m) inodes.add(m[1]);
			} catch {
				// the fd closed meanwhile
			}
		}
	}
	const ports = new Set<number>();
	for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
		let lines: string[] = [];
		try {
			lines = readFileSync(table, 'utf8').split('\n').slice(1);
		} catch {
			continue;
		}
		for (const line of lines) {
			const f = line.trim().split(/\s+/);
			if (f.length > 9 && f[3] === '0A' && inodes.has(f[9])) ports.add(parseInt(f[1].split(':')[1], 16));
		}
	}
	return [...ports].sort((a, b) => a - b);
}

function start(target: Target, env: NodeJS.ProcessEnv): Running {
	// No `detached`: the signal goes to one PID, and the children's own groups are what is under test. An npm
	// script environment from the caller (`npm run test:e2e`) is dropped so the tsx case runs as from a shell.
	const clean: NodeJS.ProcessEnv = { ...env };
	if (target !== 'npm') for (const key of Object.keys(clean)) if (key.startsWith('npm_')) delete clean[key];
	const child =
		target === 'npm'
			? spawn('npm', ['start'], { cwd: REPO_ROOT, env: clean, stdio: ['ignore', 'pipe', 'pipe'] })
			: spawn(join(REPO_ROOT, 'node_modules', '.bin', 'tsx'), ['scripts/start.ts'], {
					cwd: REPO_ROOT,
					env: clean,
					stdio: ['ignore', 'pipe', 'pipe'],
				});
	let output = '';
	child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
	child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
	const exited = new Promise<string>((r) => child.once('exit', (code, signal) => r(code === null ? `signal ${signal}` : `code ${code}`)));
	return { child, output: () => output, exited };
}

async function waitForEditor(run: Running, timeoutMs = 300_000): Promise<string> {
	const until = Date.now() + timeoutMs;
	while (Date.now() < until) {
		const url = run.output().match(/n8n editor: (http:\/\/\S+)/)?.[1];
		// The banner's last line is printed after the owner hint, so the whole banner is there.
		if (url && run.output().includes('stops n8n and the Redis')) return url;
		if (run.child.exitCode !== null) throw new Error(`${run.child.spawnargs.join(' ')} exited with ${run.child.exitCode}:\n${tail(run.output())}`);
		await sleep(250);
	}
	throw new Error(`no editor URL within ${timeoutMs / 1000} s:\n${tail(run.output())}`);
}

/** Everything the run started, with start times, so a reused pid later is not mistaken for a survivor. */
function snapshot(root: number): Tracked[] {
	return descendants(root).map((p) => ({ ...p, cmdline: cmdline(p.pid) }));
}

/** The Node process tsx starts for scripts/start.ts (it loads tsx's preflight), a child of the tsx process. */
function scriptPid(run: Running, tracked: Tracked[]): number {
	const script = tracked.find((p) => p.ppid === run.child.pid && p.cmdline.includes('preflight') && p.cmdline.includes('scripts/start.ts'));
	expect(script, `no Node process of scripts/start.ts under tsx pid ${run.child.pid}`);
	return script.pid;
}

function kind(p: Tracked): string {
	if (p.cmdline.includes('task-runner')) return 'task runner';
	if (/n8n\/bin\/n8n start/.test(p.cmdline)) return 'n8n';
	if (p.comm === 'redis-server') return 'redis-server';
	return p.comm;
}

/** Sends the signal to the one PID and returns how long until no tracked process runs and the ports are free. */
async function stopWith(run: Running, c: SignalCase, tracked: Tracked[], ports: number[]): Promise<number> {
	const pid = c.target === 'node' ? scriptPid(run, tracked) : (run.child.pid as number);
	const sent = Date.now();
	process.kill(pid, c.signal);
	let left = tracked;
	let busy = ports;
	while (Date.now() - sent < STOP_LIMIT_MS) {
		left = tracked.filter((p) => isRunning(p.pid, p.startTime));
		busy = [];
		if (left.length === 0) for (const port of ports) if (!(await portIsFree(port))) busy.push(port);
		if (left.length === 0 && busy.length === 0) break;
		await sleep(50);
	}
	const elapsed = Date.now() - sent;
	if (left.length > 0) {
		for (const p of left) {
			try {
				process.kill(p.pid, 'SIGKILL');
			} catch {
				// gone
			}
		}
		throw new Error(
			`${c.signal} to ${c.target} (pid ${pid}): after ${STOP_LIMIT_MS / 1000} s still running: ` +
				left.map((p) => `${kind(p)} ${p.pid} (${p.cmdline.slice(0, 100)})`).join('; ') +
				`\n${tail(run.output(), 1500)}`,
		);
	}
	expect(busy.length === 0, `${c.signal} to ${c.target}: ports ${busy.join(', ')} still taken ${STOP_LIMIT_MS / 1000} s later`);
	const code = await Promise.race([run.exited, deadline(5000)]);
	expect(code !== 'timeout', `${c.signal} to ${c.target}: pid ${pid} did not exit`);
	return elapsed;
}

/** The full check of a fresh `npm start` (editor, node types, templates, credential, Redis, owner hint). */
async function firstStartChecks(run: Running, url: string, devDir: string, redisPort: number): Promise<void> {
	expect(run.output().includes('First visit: create the owner account'), 'a fresh start did not tell to create the owner account');
	const page = await fetch(url);
	expect(page.status === 200, `GET ${url} answered ${page.status}`);
	const rest = new N8nRest(url);
	await rest.signIn();
	const types = await rest.nodeTypeNames();
	for (const type of [OUR_TYPES.action, OUR_TYPES.trigger]) expect(types.includes(type), `${type} not registered`);
	const workflows = await rest.json<{ data: Array<{ id: string }> }>('GET', '/rest/workflows');
	const ids = workflows.data.map((w) => w.id);
	const missing = templateFiles().map((f) => readWorkflow(f).id).filter((id) => !ids.includes(id));
	expect(missing.length === 0, `templates not imported: ${missing.join(', ')}`);
	const credentials = await rest.json<{ data: Array<{ id: string; name: string }> }>('GET', '/rest/credentials');
	expect(credentials.data.some((c) => c.id === TEMPLATE_CREDENTIAL.id), 'the credential "Marketing Redis (local)" is missing');

	const password = readFileSync(join(devDir, 'redis-password'), 'utf8').trim();
	expect(password.length >= 32, 'the generated dev password is too short');
	expect(!run.output().includes(password), 'npm start printed the Redis password');
	const probe = new Redis({ host: '127.0.0.1', port: redisPort, password, lazyConnect: true, maxRetriesPerRequest: 1 });
	try {
		await probe.connect();
		expect((await probe.ping()) === 'PONG', 'the dev redis-server did not answer');
		expect(((await probe.config('GET', 'maxmemory-policy')) as string[])[1] === 'volatile-lru', 'the dev redis-server does not use our redis.conf');
	} finally {
		probe.disconnect();
	}
}

export async function checkNpmStart(work: string, cases: SignalCase[] = ALL_CASES): Promise<string> {
	expect(process.platform === 'linux', 'the npm start check reads /proc (Linux only)');
	const devDir = join(work, 'npm-start');
	const n8nPort = await freePort();
	const redisPort = await freePort();
	const env: NodeJS.ProcessEnv = {
		...process.env,
		MARKETING_REDIS_DEV_DIR: devDir,
		N8N_PORT: String(n8nPort),
		DEV_REDIS_PORT: String(redisPort),
	};
	delete env.REDIS_URL;
	const results: string[] = [];
	for (const [index, c] of cases.entries()) {
		const started = Date.now();
		const run = start(c.target, env);
		try {
			const url = await waitForEditor(run);
			const startup = ((Date.now() - started) / 1000).toFixed(0);
			if (index === 0) await firstStartChecks(run, url, devDir, redisPort);
			else expect(!run.output().includes('create the owner account'), 'the owner exists, yet the banner says to create it');

			const tracked = snapshot(run.child.pid as number);
			const kinds = tracked.map(kind);
			for (const wanted of ['n8n', 'task runner', 'redis-server']) expect(kinds.includes(wanted), `no ${wanted} among the processes of ${c.target}`);
			const ports = listeningPorts(tracked.map((p) => p.pid));
			expect(ports.includes(Number(new URL(url).port)), `the editor port is not among the listening ports ${ports.join(', ')}`);

			const ms = await stopWith(run, c, tracked, ports);
			results.push(`${c.signal}→${c.target} ${(ms / 1000).toFixed(1)} s (up in ${startup} s)`);
			console.log(`    ${c.signal} to ${c.target}: ${tracked.map(kind).join(', ')} and ports ${ports.join(', ')} gone in ${ms} ms`);
		} finally {
			if (run.child.exitCode === null && run.child.signalCode === null) {
				// A failed case: end whatever is left of this run, so the next case and the machine start clean.
				for (const p of snapshot(run.child.pid as number)) {
					try {
						process.kill(p.pid, 'SIGKILL');
					} catch {
						// gone
					}
				}
				run.child.kill('SIGKILL');
			}
		}
	}
	return `npm start: editor, node types, templates, credential and owner hint checked; signal to one PID → time until n8n, task runner, redis-server and the watchdog were gone and their ports free: ${results.join(', ')}`;
}

function parseCases(spec: string | undefined): SignalCase[] {
	if (!spec) return ALL_CASES;
	return spec.split(',').map((item) => {
		const [target, signal] = item.trim().split(':');
		if (!['npm', 'tsx', 'node'].includes(target) || !['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGKILL'].includes(signal)) {
			throw new Error(`bad case "${item}": use npm|tsx|node:SIGINT|SIGTERM|SIGHUP|SIGKILL`);
		}
		return { target: target as Target, signal: signal as StopSignal };
	});
}

if (require.main === module) {
	const work = mkdtempSync(join(tmpdir(), 'marketing-redis-npm-start-'));
	checkNpmStart(work, parseCases(process.argv[2]))
		.then((summary) => console.log(summary))
		.catch((error: Error) => {
			console.error(`FAIL: ${error.message}`);
			process.exitCode = 1;
		})
		.finally(() => rmSync(work, { recursive: true, force: true }));
}
