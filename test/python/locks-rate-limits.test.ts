/**
 * Python and n8n contending for the same lock and the same rate limit, at once:
 * - lock holders in two Python processes (redis_manager.lock) and two n8n loops (the node's
 *   Acquire / Release) each record, on the Redis clock, when their hold began and ended:
 *   no two holds may overlap; a Python holder SIGKILLed while holding is taken over by n8n
 *   only after its lease ended;
 * - two Python processes (check_rate_limit) and three n8n workflows (Check Rate Limit, 10
 *   executions of 10 items each) check one limit together: exactly the limit is admitted.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';

import { runNode } from '../helpers/n8n';
import { closeRawClients, rawClient, testCredentials, uniquePrefix } from '../helpers/redis';
import { sharedPool } from '../../platform/connection-pool';
import { KeySchema } from '../../platform/keys';
import { describePython, PYTHON_DIR, pythonEnv, spawnPython } from './python';

afterAll(async () => {
	await sharedPool.closeAll();
	await closeRawClients();
});

const INTEROP = join(PYTHON_DIR, 'tests', 'interop');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function finished(child: ChildProcess): Promise<string> {
	let out = '';
	let err = '';
	child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
	child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
	return new Promise((resolve, reject) =>
		child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`python exited ${code}:\n${err}`)))),
	);
}

async function serverMs(): Promise<number> {
	const [seconds, micros] = await rawClient(0).time();
	return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

describePython('Python and n8n share locks and rate limits', () => {
	it('lock holds of Python processes and n8n executions never overlap', async () => {
		const ROUNDS = 30;
		const HOLD_MS = 10;
		const prefix = uniquePrefix('xlk');
		const record = `${prefix}holds`;
		const credentials = testCredentials({ keyPrefix: prefix });
		const node = async (parameters: Record<string, unknown>) => {
			const result = await runNode({ credentials, parameters: { resource: 'lock', lockName: 'campaign_123', ...parameters } });
			if (result.error) throw result.error;
			return result.outputs[0][0];
		};
		const n8nHolder = async (label: string) => {
			for (let round = 0; round < ROUNDS; round++) {
				const held = await node({ operation: 'acquire', lockTtl: 5, waitMs: 30_000, retryMs: 5 });
				if (!held.acquired) throw new Error(`${label} did not get the lock in 30 s`);
				const began = await serverMs();
				await sleep(HOLD_MS);
				await rawClient(0).rpush(record, `${label} ${began} ${await serverMs()}`);
				const released = await node({ operation: 'release', lockToken: held.token });
				if (released.outcome !== 'released') throw new Error(`${label} release: ${String(released.outcome)}`);
			}
		};
		const env = pythonEnv(prefix);
		const python = [1, 2].map(() => finished(spawnPython([join(INTEROP, 'lock_holder.py'), 'campaign_123', record, String(ROUNDS), String(HOLD_MS)], env)));
		const started = Date.now();
		await Promise.all([...python, n8nHolder('n8n:a'), n8nHolder('n8n:b')]);
		const holds = (await rawClient(0).lrange(record, 0, -1))
			.map((line) => line.split(' '))
			.map(([who, began, ended]) => ({ who, began: Number(began), ended: Number(ended) }))
			.sort((a, b) => a.began - b.began);
		const overlaps = holds.filter((h, i) => i > 0 && h.began < holds[i - 1].ended);
		const handovers = holds.filter((h, i) => i > 0 && h.who.slice(0, 3) !== holds[i - 1].who.slice(0, 3)).length;
		// eslint-disable-next-line no-console
		console.log(
			`[locks] ${holds.length} holds of one lock (${holds.filter((h) => h.who.startsWith('py')).length} by 2 Python processes, ` +
				`${holds.filter((h) => h.who.startsWith('n8n')).length} by 2 n8n loops), ${handovers} hand-overs between the languages, ` +
				`overlapping holds: ${overlaps.length}, ${((Date.now() - started) / 1000).toFixed(1)} s`,
		);
		expect(holds).toHaveLength(4 * ROUNDS);
		expect(overlaps).toEqual([]);
		expect(handovers).toBeGreaterThan(0);
	}, 180_000);

	it('a Python holder killed while holding: n8n takes the lock over only after its lease ended', async () => {
		const prefix = uniquePrefix('xlk');
		const code = [
			'import sys, time',
			'from redis_manager import get_redis_manager',
			'held = get_redis_manager().acquire_lock("campaign_9", ttl=1.5)',
			'print("held", held.expires_at_ms, flush=True)',
			'time.sleep(600)',
		].join('\n');
		const holder = spawnPython(['-c', code], pythonEnv(prefix));
		const killed = new Promise((r) => holder.once('exit', r));
		try {
			const expiresAt = await new Promise<number>((resolve, reject) => {
				let out = '';
				holder.stdout?.on('data', (d: Buffer) => {
					// A line may come in several chunks.
					out += d.toString();
					const match = /held (\d+)\n/.exec(out);
					if (match) resolve(Number(match[1]));
				});
				holder.once('exit', (c) => reject(new Error(`holder exited ${c}`)));
			});
			process.kill(-holder.pid!, 'SIGKILL');
			await killed;
			await takeOver(prefix, expiresAt);
		} finally {
			if (holder.exitCode === null && holder.signalCode === null) process.kill(-holder.pid!, 'SIGKILL');
		}
	});

	async function takeOver(prefix: string, expiresAt: number): Promise<void> {
		const result = await runNode({
			credentials: testCredentials({ keyPrefix: prefix }),
			parameters: { resource: 'lock', operation: 'acquire', lockName: 'campaign_9', lockTtl: 5, waitMs: 5000, retryMs: 20 },
		});
		const out = result.outputs[0][0];
		expect(out).toMatchObject({ acquired: true, tookOver: true });
		// The new lease (5 s) began on the Redis clock no earlier than the killed holder's lease ended.
		expect(Number(out.expiresAtMs) - 5000).toBeGreaterThanOrEqual(expiresAt);
		expect(await rawClient(0).get(new KeySchema(prefix).lock('campaign_9'))).toBe(`${String(out.expiresAtMs)}:${String(out.token)}`);
	}

	it('Python and n8n checks of one limit together admit exactly the limit', async () => {
		const LIMIT = 300;
		const prefix = uniquePrefix('xrl');
		const credentials = testCredentials({ keyPrefix: prefix });
		const check = async (items: number) => {
			const result = await runNode({
				credentials,
				parameters: { resource: 'rateLimit', operation: 'check', limitKey: 'api_linkedin', maxRequests: LIMIT, windowSeconds: 60 },
				items: Array.from({ length: items }, () => ({})),
			});
			if (result.error) throw result.error;
			return result.outputs[0].filter((o) => o.allowed === true).length;
		};
		// Warm n8n's engine on another key, so its first execution does not start late.
		await runNode({ credentials, parameters: { resource: 'rateLimit', operation: 'status', limitKey: 'warm-up', maxRequests: 1, windowSeconds: 1 } });
		const start = `${prefix}go`;
		const checkers = [1, 2].map(() =>
			spawnPython([join(INTEROP, 'rate_checker.py'), 'api_linkedin', String(LIMIT), '60', '300', start, '2'], pythonEnv(prefix)),
		);
		const python = checkers.map(finished);
		await Promise.all(checkers.map((c) => new Promise((r) => c.stdout?.once('data', r))));
		await rawClient(4).set(start, '1', 'EX', 60);
		// Three n8n workflows, each running 10 executions of 10 items one after another.
		const n8n = [1, 2, 3].map(async () => {
			let allowed = 0;
			for (let i = 0; i < 10; i++) allowed += await check(10);
			return allowed;
		});
		const pyAllowed = (await Promise.all(python)).map((out) => Number(out.trim().split('\n').pop()));
		const n8nAllowed = await Promise.all(n8n);
		const sum = (list: number[]) => list.reduce((a, b) => a + b, 0);
		const counted = await rawClient(4).zcard(new KeySchema(prefix).rateLimit('api_linkedin'));
		// eslint-disable-next-line no-console
		console.log(
			`[rate limit] limit ${LIMIT} per 60 s, 900 checks at once: Python ${pyAllowed.join(' + ')} allowed of 2 x 300, ` +
				`n8n ${n8nAllowed.join(' + ')} allowed of 3 x 100; total ${sum([...pyAllowed, ...n8nAllowed])}, counted in Redis ${counted}`,
		);
		expect(sum([...pyAllowed, ...n8nAllowed])).toBe(LIMIT);
		expect(counted).toBe(LIMIT);
		// Both languages were admitted: the limit was shared, not used up by one side first.
		expect(sum(pyAllowed)).toBeGreaterThan(0);
		expect(sum(n8nAllowed)).toBeGreaterThan(0);
	}, 120_000);
});
