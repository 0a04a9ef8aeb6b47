/**
 * 6. Security: authentication failures read well, the password never leaks anywhere we can
 * capture, TLS verifies the server, ACL key patterns are honoured, and our redis.conf refuses
 * FLUSHALL / FLUSHDB.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { LoggerProxy, type ICredentialDataDecryptedObject, type ICredentialTestFunctions } from 'n8n-workflow';

import { marketingRedisConnectionTest } from '../../nodes/shared/connection-test';
import { sharedPool } from '../../platform/connection-pool';
import { runNode, type RunNodeResult } from '../helpers/n8n';
import { freePort, REDIS_CONF, type RedisServerHandle } from '../helpers/redis-server';
import { startTrigger } from '../helpers/trigger';
import { credentialsFor, raw, report, scanKeys, startServer, stopAll, waitFor } from './support';

// Distinctive, with characters that URL-encode, so a leak in any form is found.
const PASSWORD = 'Pw-7f3c9a/e+Leak?Check#2';
const SECRETS = [PASSWORD, encodeURIComponent(PASSWORD), Buffer.from(PASSWORD).toString('base64')];

let server: RedisServerHandle;
const captured: string[] = [];
const spies: jest.SpyInstance[] = [];

/** Everything a user or an operator could see of a run: outputs, errors (all fields), logs. */
function capture(label: string, value: unknown): void {
	captured.push(`${label}: ${inspect(value, { depth: 10, showHidden: true, getters: false })}`);
	if (value instanceof Error) captured.push(`${label} stack: ${value.stack ?? ''}`);
	try {
		captured.push(`${label} json: ${JSON.stringify(value)}`);
	} catch {
		// Circular structures are covered by inspect() above.
	}
}

function captureRun(label: string, result: RunNodeResult): void {
	capture(`${label} outputs`, result.outputs);
	capture(`${label} error`, result.error);
	capture(`${label} run`, result.run.data.resultData);
}

async function credentialTest(data: ICredentialDataDecryptedObject) {
	const result = await marketingRedisConnectionTest.call({} as ICredentialTestFunctions, {
		id: 'c',
		name: 'c',
		type: 'marketingRedisApi',
		data,
	});
	capture('credential test', result);
	return result;
}

beforeAll(async () => {
	server = await startServer({ password: PASSWORD });
	// n8n's logger (what nodes and n8n-core log through), captured line by line.
	const log = (level: string) => (message: string, meta?: unknown) => void captured.push(`logger.${level}: ${message} ${inspect(meta)}`);
	LoggerProxy.init({ error: log('error'), warn: log('warn'), info: log('info'), debug: log('debug') } as unknown as Parameters<typeof LoggerProxy.init>[0]);
	for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
		spies.push(
			jest.spyOn(console, method).mockImplementation((...args: unknown[]) => void captured.push(`console.${method}: ${args.map((a) => inspect(a)).join(' ')}`)),
		);
	}
});

afterAll(async () => {
	for (const spy of spies) spy.mockRestore();
	await sharedPool.closeAll();
	await stopAll();
	// Last: every line captured by every test of this file.
	const leaks = captured.filter((line) => SECRETS.some((s) => line.includes(s)));
	report('Security: password leak scan', ['figure', 'value'], [
		['captured outputs, errors, log and console lines', captured.length],
		['lines containing the password (must be 0)', leaks.length],
	]);
	// The scan saw the failure paths (not an empty capture) and would have found a leak.
	expect(captured.length).toBeGreaterThan(100);
	expect(captured.some((line) => line.includes('rejected the username or password'))).toBe(true);
	expect(leaks).toEqual([]);
});

describe('authentication failures are readable', () => {
	it.each([
		['wrong password', { password: 'not-the-password' }, /rejected the username or password/],
		['no password', { password: '' }, /requires a password, but none was sent/],
	])('%s: credential test and node say what is wrong', async (_label, overrides, expected) => {
		const creds = credentialsFor(server, overrides);
		const test = await credentialTest(creds);
		expect(test.status).toBe('Error');
		expect(test.message).toMatch(expected);
		const result = await runNode({
			credentials: creds,
			parameters: { resource: 'session', operation: 'set', sessionId: 'auth-check', data: '{"a":1}', ttl: 60 },
		});
		captureRun('auth failure', result);
		expect(result.error?.message).toMatch(expected);
		expect(result.error?.message).not.toMatch(/\n\s+at /);
	});

	it('an ACL user without rights gets a NOPERM explanation', async () => {
		await raw(server).call('ACL', 'SETUSER', 'nobody', 'on', `>${PASSWORD}`, '~*', '-@all', '+auth', '+hello', '+ping', '+select', '+info');
		const creds = credentialsFor(server, { user: 'nobody' });
		const result = await runNode({
			credentials: creds,
			parameters: { resource: 'session', operation: 'get', sessionId: 'x' },
		});
		captureRun('acl none', result);
		expect(result.error?.message).toMatch(/Get Session failed: The Redis ACL user is not allowed to do this/);
		const test = await credentialTest(creds);
		// PING and SELECT are granted, so the connection itself tests fine; the data commands are not.
		expect(test.message).not.toContain(PASSWORD);
	});

	it('a trigger with a wrong password fails at activation with a readable error', async () => {
		const attempt = startTrigger({
			parameters: { event: 'contentUpdatePubSub', channels: 'sec_updates', options: { giveUpAfter: 1 } },
			credentials: credentialsFor(server, { password: 'wrong' }),
			workflowId: 'wf-sec',
		});
		let message = '';
		try {
			const trigger = await attempt;
			const error = await trigger.waitForError(10_000);
			capture('trigger emitError', error);
			capture('trigger logs', trigger.logs);
			message = error.message;
			await trigger.close();
		} catch (error) {
			capture('trigger activation error', error);
			message = (error as Error).message;
		}
		expect(message).toMatch(/rejected the username or password/);
	});
});

describe('the password never appears in errors of failing connections', () => {
	it('refused connection, lost connection and timeouts stay secret-free', async () => {
		const closed = await freePort();
		const refused = await runNode({
			credentials: credentialsFor({ port: closed, password: PASSWORD }),
			parameters: { resource: 'session', operation: 'get', sessionId: 'x' },
		});
		captureRun('refused', refused);
		expect(refused.error?.message).toMatch(/Connection refused|connection to Redis was lost/);
		capture('refused credential test', await credentialTest(credentialsFor({ port: closed, password: PASSWORD })));
		// A failing script call and a WRONGTYPE carry command arguments in ioredis errors: still no password.
		await raw(server).set('sec:wrongtype', 'x');
		const wrongType = await runNode({
			credentials: credentialsFor(server),
			continueOnFail: true,
			parameters: { resource: 'conversation', operation: 'getHistory', format: 'platform', campaign: 'sec', agent: 'x', returnAll: true },
		});
		captureRun('wrongtype', wrongType);
	});
});

// ---- TLS -------------------------------------------------------------------------------------

interface TlsServer {
	port: number;
	ca: string;
	stop(): Promise<void>;
}

function openssl(dir: string, ...args: string[]): void {
	const result = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
	if (result.status !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr}`);
}

/** A throwaway CA and a server certificate for 127.0.0.1/localhost (openssl), and redis-server on a TLS-only port. */
async function startTlsServer(): Promise<TlsServer> {
	const dir = mkdtempSync(join(tmpdir(), 'mredis-tls-'));
	openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=Reliability Test CA', '-keyout', 'ca.key', '-out', 'ca.crt');
	openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr');
	const ext = spawnSync(
		'sh',
		['-c', 'printf "subjectAltName=IP:127.0.0.1,DNS:localhost\\n" > san.ext && openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out server.crt'],
		{ cwd: dir, encoding: 'utf8' },
	);
	if (ext.status !== 0) throw new Error(`openssl x509 failed: ${ext.stderr}`);
	const port = await freePort();
	const child: ChildProcess = spawn(
		'redis-server',
		[
			REDIS_CONF,
			'--port', '0',
			'--tls-port', String(port),
			'--tls-cert-file', join(dir, 'server.crt'),
			'--tls-key-file', join(dir, 'server.key'),
			'--tls-ca-cert-file', join(dir, 'ca.crt'),
			'--tls-auth-clients', 'no',
			'--requirepass', PASSWORD,
			'--dir', dir,
			'--daemonize', 'no',
			'--logfile', '',
		],
		{ stdio: 'ignore' },
	);
	const ready = await waitFor(() => {
		const ping = spawnSync(
			'redis-cli',
			['--tls', '--cacert', join(dir, 'ca.crt'), '-h', '127.0.0.1', '-p', String(port), '--no-auth-warning', '-a', PASSWORD, 'PING'],
			{ encoding: 'utf8', timeout: 2000 },
		);
		return ping.stdout.trim() === 'PONG';
	}, 10_000, 100);
	if (!ready) {
		child.kill('SIGKILL');
		throw new Error('TLS redis-server did not answer');
	}
	return {
		port,
		ca: readFileSync(join(dir, 'ca.crt'), 'utf8'),
		async stop() {
			child.kill('SIGKILL');
			await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('exit', r)));
			rmSync(dir, { recursive: true, force: true });
		},
	};
}

describe('TLS with a self-signed CA made by openssl', () => {
	let tls: TlsServer;

	beforeAll(async () => {
		tls = await startTlsServer();
	});

	afterAll(async () => {
		await sharedPool.closeAll();
		await tls?.stop();
	});

	const tlsCreds = (extra: ICredentialDataDecryptedObject) =>
		credentialsFor({ port: tls.port, password: PASSWORD }, { tls: true, ...extra });

	it('connects with the CA: credential test and node both work', async () => {
		const creds = tlsCreds({ tlsCa: tls.ca });
		const test = await credentialTest(creds);
		expect(test).toMatchObject({ status: 'OK' });
		expect(test.message).not.toMatch(/verification is off/);
		const set = await runNode({
			credentials: creds,
			parameters: { resource: 'session', operation: 'set', sessionId: 'tls-1', data: '{"over":"tls"}', ttl: 60 },
		});
		captureRun('tls ok', set);
		expect(set.error).toBeUndefined();
		const get = await runNode({ credentials: creds, parameters: { resource: 'session', operation: 'get', sessionId: 'tls-1' } });
		expect(get.outputs[0][0]).toMatchObject({ found: true, data: { over: 'tls' } });
	});

	it('refuses a server it cannot verify when no CA is given', async () => {
		const creds = tlsCreds({ tlsCa: '' });
		const test = await credentialTest(creds);
		expect(test.status).toBe('Error');
		expect(test.message).toMatch(/TLS handshake with Redis failed \(.*(self[- ]signed|unable to verify|certificate).*\)/i);
		const result = await runNode({ credentials: creds, parameters: { resource: 'session', operation: 'get', sessionId: 'tls-1' } });
		captureRun('tls refused', result);
		expect(result.error?.message).toMatch(/Get Session failed: TLS handshake with Redis failed \(.*certificate.*\)/i);
	});

	it('refuses plain TCP to a TLS port with a hint to turn TLS on', async () => {
		const test = await credentialTest(credentialsFor({ port: tls.port, password: PASSWORD }));
		expect(test.status).toBe('Error');
		expect(test.message).toMatch(/TLS/);
	});

	it('works with verification off, and says that it is unsafe', async () => {
		const creds = tlsCreds({ tlsSkipVerify: true });
		const test = await credentialTest(creds);
		expect(test.status).toBe('OK');
		expect(test.message).toMatch(/Warning: TLS certificate verification is off/);
		const get = await runNode({ credentials: creds, parameters: { resource: 'session', operation: 'get', sessionId: 'tls-1' } });
		captureRun('tls insecure', get);
		expect(get.outputs[0][0]).toMatchObject({ found: true });
	});
});

// ---- ACL key patterns ------------------------------------------------------------------------

describe('an ACL user limited to session:* and ratelimit:* keys', () => {
	const cases: Array<[string, Record<string, unknown>, boolean]> = [
		['Session Set', { resource: 'session', operation: 'set', sessionId: 'acl1', data: '{"a":1}', ttl: 60 }, true],
		['Session Get', { resource: 'session', operation: 'get', sessionId: 'acl1' }, true],
		['Session Refresh TTL', { resource: 'session', operation: 'refresh', sessionId: 'acl1', ttl: 90 }, true],
		['Session Delete', { resource: 'session', operation: 'delete', sessionId: 'acl1' }, true],
		['Rate Limit Check (Lua)', { resource: 'rateLimit', operation: 'check', limitKey: 'acl', maxRequests: 5, windowSeconds: 60 }, true],
		['Rate Limit Status', { resource: 'rateLimit', operation: 'status', limitKey: 'acl', maxRequests: 5, windowSeconds: 60 }, true],
		['Rate Limit Reset', { resource: 'rateLimit', operation: 'reset', limitKey: 'acl' }, true],
		['Content Cache', { resource: 'content', operation: 'cache', contentId: 'acl', valueType: 'text', text: 'x', ttl: 60 }, false],
		['Content Get', { resource: 'content', operation: 'get', contentId: 'acl' }, false],
		['API Cache Set', { resource: 'apiCache', operation: 'set', namespace: 'n', cacheKey: 'k', value: '{}', ttl: 60 }, false],
		['Search Cache', { resource: 'search', operation: 'cacheResults', query: 'q', results: '[]', ttl: 60 }, false],
		['Lock Acquire (Lua on lock:*)', { resource: 'lock', operation: 'acquire', lockName: 'acl', lockTtl: 5 }, false],
		['Job Enqueue (Lua on queue keys)', { resource: 'job', operation: 'enqueue', queue: 'acl', payload: '{}' }, false],
		['Conversation Append', { resource: 'conversation', operation: 'append', format: 'platform', campaign: 'c', agent: 'a', messages: '[{"role":"user","content":"hi"}]', maxLength: 10, ttl: 60 }, false],
		['Update Publish (no channel rights)', { resource: 'update', operation: 'publish', channel: 'acl_updates', message: '{}' }, false],
	];

	beforeAll(async () => {
		await raw(server).call(
			'ACL', 'SETUSER', 'sessions', 'on', `>${PASSWORD}`, 'resetkeys', '~session:*', '~ratelimit:*', 'resetchannels',
			'-@all', '+@read', '+@write', '+@keyspace', '+@scripting', '+@connection', '+time', '+info', '-@dangerous',
		);
	});

	it.each(cases.map(([label, parameters, allowed]) => ({ label, parameters, allowed })))('$label: allowed=$allowed', async ({ parameters, allowed }) => {
		const result = await runNode({ credentials: credentialsFor(server, { user: 'sessions' }), parameters });
		captureRun('acl', result);
		if (allowed) {
			expect(result.error).toBeUndefined();
		} else {
			expect(result.error?.message).toMatch(/failed: The Redis ACL user is not allowed to do this/);
		}
	});

	it('wrote nothing outside its patterns', async () => {
		const stray = [];
		for (const db of [0, 1, 2, 3, 4]) {
			for (const key of await scanKeys(raw(server, db))) {
				if (!/^(session|ratelimit):/.test(key) && key !== 'sec:wrongtype') stray.push(`${db}/${key}`);
			}
		}
		expect(stray).toEqual([]);
	});
});

describe('our redis.conf', () => {
	it('refuses FLUSHALL and FLUSHDB, even for the default user', async () => {
		const client = raw(server);
		await expect(client.call('FLUSHALL')).rejects.toThrow(/unknown command/i);
		await expect(client.call('FLUSHDB')).rejects.toThrow(/unknown command/i);
		await expect(client.call('FLUSHALL', 'ASYNC')).rejects.toThrow(/unknown command/i);
	});
});
