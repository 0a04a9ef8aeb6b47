/**
 * The waiting list stays usable by the platform's plain Python code (redis_manager.py):
 *   producer: r.lpush(f"queue:{name}", json.dumps(job))        -> LPUSH queue:<name> <json>
 *   consumer: r.brpop(f"queue:{name}", timeout=5)              -> BRPOP queue:<name> 5
 * The raw commands below are exactly those; when python3 with redis-py is installed, the same
 * is also run through redis-py itself.
 */
import { spawnSync } from 'node:child_process';

import { runNode } from '../helpers/n8n';
import { closeRawClients, rawClient, testServer, uniquePrefix } from '../helpers/redis';
import { sharedPool } from '../../platform/connection-pool';
import { findPython } from './python';

afterAll(async () => {
	await sharedPool.closeAll();
	await closeRawClients();
});

/** json.dumps() with its default separators, as the Python producers write it. */
function pythonJsonDumps(value: Record<string, unknown>): string {
	return `{${Object.entries(value)
		.map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`)
		.join(', ')}}`;
}

const redisPy = findPython(['redis']);
const hasRedisPy = redisPy.python !== null;

function python(code: string, env: Record<string, string>) {
	const s = testServer();
	return spawnSync(redisPy.python ?? 'python3', ['-c', code], {
		encoding: 'utf8',
		timeout: 20_000,
		env: { ...process.env, REDIS_HOST: s.host, REDIS_PORT: String(s.port), REDIS_PASSWORD: s.password ?? '', ...env },
	});
}

describe('Python compatibility of the waiting list', () => {
	it('a plain BRPOP consumer (redis-py shape) gets our envelope, oldest first: at-most-once', async () => {
		const queue = uniquePrefix('py');
		await runNode({
			parameters: { resource: 'job', operation: 'enqueue', queue, payload: '={{ JSON.stringify({ campaign_id: $json.c, type: "blog" }) }}' },
			items: [{ c: 1 }, { c: 2 }],
		});
		const raw = rawClient(3);
		const reply = (await raw.call('BRPOP', `queue:${queue}`, '5')) as [string, string];
		expect(reply[0]).toBe(`queue:${queue}`);
		const envelope = JSON.parse(reply[1]);
		expect(envelope).toMatchObject({ payload: { campaign_id: 1, type: 'blog' }, attempt: 0, maxAttempts: 3 });
		expect(typeof envelope.id).toBe('string');
		expect(typeof envelope.enqueuedAt).toBe('number');
		// Nothing tracks a job popped this way: it is gone if that consumer dies (at-most-once).
		const stats = await runNode({ parameters: { resource: 'job', operation: 'stats', queue } });
		expect(stats.outputs[0][0]).toMatchObject({ waiting: 1, inFlight: 0 });
	});

	it('a bare JSON payload LPUSHed by a Python producer is accepted by Dequeue, then completed', async () => {
		const queue = uniquePrefix('py');
		const raw = rawClient(3);
		const job = pythonJsonDumps({ campaign_id: 1, type: 'blog' });
		expect(job).toBe('{"campaign_id": 1, "type": "blog"}');
		await raw.call('LPUSH', `queue:${queue}`, job);
		const taken = await runNode({ parameters: { resource: 'job', operation: 'dequeue', queue, timeout: 0, visibilityTimeout: 60, whenEmpty: 'noItem' } });
		const item = taken.outputs[0][0];
		expect(item).toMatchObject({ payload: { campaign_id: 1, type: 'blog' }, attempt: 1, maxAttempts: 3, enqueuedAt: null });
		expect(item.id).toMatch(/^[0-9a-f-]{36}$/);
		const done = await runNode({ parameters: { resource: 'job', operation: 'complete', queue, jobId: '={{ $json.id }}' }, items: [item] });
		expect(done.outputs[0][0]).toMatchObject({ completed: true });
		expect(await raw.exists(`queue:${queue}`, `{queue:${queue}}:inflight`, `{queue:${queue}}:jobs`)).toBe(0);
	});

	(hasRedisPy ? it : it.skip)('real redis-py: LPUSH producer -> our Dequeue, our Enqueue -> BRPOP consumer', async () => {
		const queue = uniquePrefix('py');
		const produce = python(
			[
				'import json, os, redis',
				"r = redis.Redis(host=os.environ['REDIS_HOST'], port=int(os.environ['REDIS_PORT']), password=os.environ['REDIS_PASSWORD'], db=3)",
				"r.lpush('queue:' + os.environ['Q'], json.dumps({'campaign_id': 9, 'type': 'seo'}))",
			].join('\n'),
			{ Q: queue },
		);
		expect(produce.stderr).toBe('');
		const taken = await runNode({ parameters: { resource: 'job', operation: 'dequeue', queue, timeout: 2, visibilityTimeout: 60, whenEmpty: 'noItem' } });
		expect(taken.outputs[0][0]).toMatchObject({ payload: { campaign_id: 9, type: 'seo' } });

		await runNode({ parameters: { resource: 'job', operation: 'enqueue', queue, payload: '{"campaign_id": 10, "type": "blog"}' } });
		const consume = python(
			[
				'import json, os, redis',
				"r = redis.Redis(host=os.environ['REDIS_HOST'], port=int(os.environ['REDIS_PORT']), password=os.environ['REDIS_PASSWORD'], db=3)",
				"key, value = r.brpop('queue:' + os.environ['Q'], timeout=5)",
				"print(json.dumps(json.loads(value)['payload']))",
			].join('\n'),
			{ Q: queue },
		);
		expect(consume.stderr).toBe('');
		expect(JSON.parse(consume.stdout)).toEqual({ campaign_id: 10, type: 'blog' });
	});
});

if (!hasRedisPy) {
	// eslint-disable-next-line no-console
	console.log(`python-compat: the real redis-py test is skipped: redis-py is not importable (${redisPy.reason}); apt-get install python3-redis enables it`);
}
