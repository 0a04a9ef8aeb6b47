import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

import { findPython } from '../queue/python';
import { REPO_ROOT } from '../helpers/redis-server';
import { testCredentials, testServer } from '../helpers/redis';

/**
 * The Python twin (python/redis_manager) as the jest suites drive it: Debian's python3 with
 * python3-redis (and python3-pytest for the pytest suite). Without them the Python suites are
 * skipped with the reason printed, except when REQUIRE_PYTHON=1 (CI): then they fail.
 */
export const PYTHON_DIR = join(REPO_ROOT, 'python');
export const DRIVER = join(PYTHON_DIR, 'tests', 'interop', 'driver.py');

const found = findPython(['redis']);
export const PYTHON = found.python;
export const pythonReason = found.reason;
export const requirePython = process.env.REQUIRE_PYTHON === '1';

/** `describe` when Python with redis-py is there (or required), else a skipped one that says why. */
export function describePython(name: string, body: () => void): void {
	if (PYTHON || requirePython) {
		describe(name, body);
		return;
	}
	// eslint-disable-next-line no-console
	console.log(`${name}: skipped, redis-py is not importable (${pythonReason}); apt-get install python3-redis enables it`);
	describe.skip(name, body);
}

export function python(): string {
	if (!PYTHON) throw new Error(`python3 with redis-py is required (REQUIRE_PYTHON=1): ${pythonReason}`);
	return PYTHON;
}

/** The environment a Python process gets: the test server, a key prefix, the package on its path. */
export function pythonEnv(prefix: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
	const env: NodeJS.ProcessEnv = { ...process.env, PYTHONPATH: PYTHON_DIR, PYTHONDONTWRITEBYTECODE: '1' };
	for (const name of Object.keys(env)) if (name.startsWith('REDIS_')) delete env[name];
	return { ...env, REDIS_URL: testServer().url, REDIS_KEY_PREFIX: prefix, ...extra };
}

export interface PyCall {
	method: string;
	args?: unknown[];
	kwargs?: Record<string, unknown>;
	target?: 'manager' | 'keys' | 'module' | 'driver';
	prefix?: string;
}

export type PyResult = { ok: unknown } | { error: string; message: string };

/** Runs a batch of calls through python/tests/interop/driver.py; one Python process per batch. */
export function pyCalls(calls: PyCall[], env: NodeJS.ProcessEnv): PyResult[] {
	const run = spawnSync(python(), [DRIVER], {
		input: JSON.stringify({ calls }),
		encoding: 'utf8',
		env,
		timeout: 60_000,
		maxBuffer: 256 * 1024 * 1024,
	});
	if (run.status !== 0) throw new Error(`driver.py failed (${run.status ?? run.signal}):\n${run.stderr}`);
	return (JSON.parse(run.stdout) as { results: PyResult[] }).results;
}

/** One call whose result must be ok. */
export function pyOk(call: PyCall, env: NodeJS.ProcessEnv): unknown {
	const [result] = pyCalls([call], env);
	if ('error' in result) throw new Error(`${call.method}: ${result.error}: ${result.message}`);
	return result.ok;
}

/** Runs a Python file or `-c` code to completion; stdout, stderr and exit status. */
export function runPython(args: string[], env: NodeJS.ProcessEnv, input?: string, timeoutMs = 120_000) {
	const run = spawnSync(python(), args, { input, encoding: 'utf8', env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
	return { status: run.status, signal: run.signal, stdout: run.stdout ?? '', stderr: run.stderr ?? '' };
}

/** Starts a Python process (workers); its own process group, so a kill takes its children too. */
export function spawnPython(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
	return spawn(python(), args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
}

/** pytest is there too (Debian python3-pytest)? */
export function hasPytest(): boolean {
	if (!PYTHON) return false;
	return spawnSync(PYTHON, ['-c', 'import pytest'], { encoding: 'utf8' }).status === 0;
}

/**
 * A DB per role, none of them the default: cross-language tests run with this mapping on
 * both sides, so a call that used the wrong role's DB would miss the other side's key.
 */
export const MAPPED_DBS = { session: 5, content: 6, cache: 7, queue: 8, rateLimit: 9, default: 10 } as const;

export function mappedCredentials(prefix: string) {
	const d = MAPPED_DBS;
	return testCredentials({ keyPrefix: prefix, sessionDb: d.session, contentDb: d.content, cacheDb: d.cache, queueDb: d.queue, rateLimitDb: d.rateLimit, defaultDb: d.default });
}

export function mappedEnv(prefix: string): NodeJS.ProcessEnv {
	const d = MAPPED_DBS;
	return pythonEnv(prefix, {
		REDIS_DB_SESSION: String(d.session),
		REDIS_DB_CONTENT: String(d.content),
		REDIS_DB_CACHE: String(d.cache),
		REDIS_DB_QUEUE: String(d.queue),
		REDIS_DB_RATE_LIMIT: String(d.rateLimit),
		REDIS_DB_DEFAULT: String(d.default),
	});
}
