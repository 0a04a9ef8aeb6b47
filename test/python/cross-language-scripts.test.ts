/**
 * Cross-language for the script-backed roles, both directions: job queue, locks and rate
 * limits, each in its own DB (MAPPED_DBS) on both sides. A job, lease or window written by one side is read,
 * settled or counted by the other with equal values and times, because both run the same
 * Lua files over the same keys.
 */
import type { IDataObject } from 'n8n-workflow';

import { runNode } from '../helpers/n8n';
import { closeRawClients, rawClient, uniquePrefix } from '../helpers/redis';
import { sharedPool } from '../../platform/connection-pool';
import { jobResultKey, KeySchema } from '../../platform/keys';
import { describePython, MAPPED_DBS, mappedCredentials, mappedEnv, pyCalls, pyOk, runPython } from './python';

afterAll(async () => {
	await sharedPool.closeAll();
	await closeRawClients();
});

function side(label: string) {
	const prefix = uniquePrefix(label);
	const env = mappedEnv(prefix);
	const credentials = mappedCredentials(prefix);
	return {
		prefix,
		env,
		keys: new KeySchema(prefix),
		py: (method: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}) => pyOk({ method, args, kwargs }, env),
		node: async (parameters: Record<string, unknown>): Promise<IDataObject> => {
			const result = await runNode({ credentials, parameters });
			if (result.error) throw result.error;
			return result.outputs[0][0];
		},
		/** Python code run with `redis` = get_redis_manager(); prints what it returns as JSON. */
		pyCode: (body: string): unknown => {
			const code = ['import json', 'from redis_manager import get_redis_manager', 'redis = get_redis_manager()', 'def run():', ...body.split('\n').map((l) => `    ${l}`), 'print(json.dumps(run()))'].join('\n');
			const out = runPython(['-c', code], env);
			if (out.status !== 0) throw new Error(out.stderr);
			return JSON.parse(out.stdout);
		},
	};
}

describePython('cross-language: queue, locks and rate limits on the same scripts', () => {
	describe('job queue (queue:{name}, queue role DB)', () => {
		it('Python enqueue_job -> node Dequeue (id, payload, attempts) -> node Complete; Python sees it gone', async () => {
			const s = side('xq');
			const id = s.py('enqueue_job', ['content_generation', { campaign_id: 1, type: 'blog', title: 'Café ✓' }], { job_id: 'job-{1}: ü', max_attempts: 5 });
			expect(id).toBe('job-{1}: ü');
			expect(s.py('enqueue_job', ['content_generation', { dup: true }], { job_id: 'job-{1}: ü' })).toBeNull();
			const job = await s.node({ resource: 'job', operation: 'dequeue', queue: 'content_generation', timeout: 0, visibilityTimeout: 60, whenEmpty: 'noItem' });
			expect(job).toMatchObject({ id, payload: { campaign_id: 1, type: 'blog', title: 'Café ✓' }, attempt: 1, maxAttempts: 5 });
			expect(Date.parse(String(job.enqueuedAt))).toBeGreaterThan(Date.now() - 60_000);
			const done = await s.node({ resource: 'job', operation: 'complete', queue: 'content_generation', jobId: id, options: { lease: job.lease } });
			expect(done).toMatchObject({ completed: true });
			expect(s.py('queue_stats', ['content_generation'])).toMatchObject({ waiting: 0, inFlight: 0, delayed: 0, dead: 0 });
		});

		it('node Enqueue -> Python take_job fails it with its exception -> node Dequeue gets the retry with that error', async () => {
			const s = side('xq');
			const enq = await s.node({
				resource: 'job',
				operation: 'enqueue',
				queue: 'q',
				payload: '{"campaign_id": 2}',
				options: { maxAttempts: 2, backoffSeconds: 0 },
			});
			const taken = s.pyCode(
				[
					'job = redis.take_job("q", timeout=2)',
					'seen = [job.id, job.attempt, job.max_attempts, job.payload]',
					'try:',
					'    with job:',
					'        raise RuntimeError("LinkedIn API down")',
					'except RuntimeError:',
					'    pass',
					'return seen + [job.settled]',
				].join('\n'),
			);
			expect(taken).toEqual([enq.id, 1, 2, { campaign_id: 2 }, 'retry']);
			const retry = await s.node({ resource: 'job', operation: 'dequeue', queue: 'q', timeout: 3, visibilityTimeout: 60, whenEmpty: 'noItem' });
			expect(retry).toMatchObject({ id: enq.id, attempt: 2, payload: { campaign_id: 2 } });
			expect(String(retry.lastError)).toMatch(/^RuntimeError: LinkedIn API down/);
			// The node fails the last attempt: dead-lettered, which Python's stats show.
			await s.node({ resource: 'job', operation: 'fail', queue: 'q', jobId: enq.id, errorMessage: 'gave up', options: { lease: retry.lease } });
			expect(s.py('queue_stats', ['q'])).toMatchObject({ waiting: 0, inFlight: 0, dead: 1 });
		});

		it('a lease is one delivery on both sides: the node cannot ack a job Python holds under another lease', async () => {
			const s = side('xq');
			s.py('enqueue_job', ['q', { n: 1 }]);
			const held = s.pyCode('job = redis.take_job("q", timeout=1, visibility_timeout=30)\nreturn [job.id, job.lease]') as [string, string];
			const stale = await s.node({ resource: 'job', operation: 'complete', queue: 'q', jobId: held[0], options: { lease: 'not-this-delivery' } });
			expect(stale).toMatchObject({ completed: false });
			const ok = s.pyCode(`from redis_manager.jobs import JobQueue\nq = redis.job_queue("q")\nreturn q.complete(${JSON.stringify(held[0])}, ${JSON.stringify(held[1])})`);
			expect(ok).toBe('done');
		});

		it('Python Job.complete(result=...) answers a node Enqueue waiting for the result; JobQueue.result reads node results', async () => {
			const s = side('xq');
			const waiting = runNode({
				credentials: mappedCredentials(s.prefix),
				parameters: { resource: 'job', operation: 'enqueue', queue: 'drafts', payload: '{"topic": "seo"}', options: { waitForResult: 60, jobId: 'draft-1' } },
			});
			// pyCode blocks this process, so first let the node enqueue and subscribe.
			const channel = jobResultKey(s.keys.queue('drafts'), 'draft-1');
			for (let tries = 0; Number(((await rawClient(0).pubsub('NUMSUB', channel)) as [string, number])[1]) === 0; tries++) {
				if (tries > 500) throw new Error('the node never started waiting');
				await new Promise((r) => setTimeout(r, 20));
			}
			const done = s.pyCode('job = redis.take_job("drafts", timeout=10)\nreturn [job.id, job.complete(result={"draft": "Café ✓", "words": 2})]');
			expect(done).toEqual(['draft-1', 'done']);
			const out = (await waiting).outputs[0][0];
			expect(out).toMatchObject({ id: 'draft-1', status: 'completed', result: { draft: 'Café ✓', words: 2 } });
			const read = s.pyCode('return redis.job_queue("drafts").result("draft-1")') as IDataObject;
			expect(read).toMatchObject({ id: 'draft-1', status: 'completed', result: { draft: 'Café ✓', words: 2 } });
			expect(s.pyCode('return redis.job_queue("drafts").result("nothing")')).toEqual({ id: 'nothing', status: 'pending' });
			// Without a result, a Python completion stores nothing (as before).
			s.py('enqueue_job', ['drafts', { n: 2 }], { job_id: 'plain' });
			expect(s.pyCode('job = redis.take_job("drafts", timeout=1)\nreturn job.complete()')).toBe('done');
			expect(s.pyCode('return redis.job_queue("drafts").result("plain")')).toEqual({ id: 'plain', status: 'pending' });
		});
	});

	describe('locks (lock:{name}, default DB)', () => {
		it('a Python lease blocks the node until released, and the node releases with the Python token', async () => {
			const s = side('xk');
			const py = s.py('acquire_lock', ['campaign_123'], { ttl: 20 }) as { token: string; expires_at_ms: number };
			const raw = rawClient(MAPPED_DBS.default);
			expect(await raw.get(s.keys.lock('campaign_123'))).toBe(`${py.expires_at_ms}:${py.token}`);
			expect(await raw.pttl(s.keys.lock('campaign_123'))).toBe(-1);
			const refused = await s.node({ resource: 'lock', operation: 'acquire', lockName: 'campaign_123', lockTtl: 30 });
			expect(refused.acquired).toBe(false);
			expect(refused.heldForMs).toBeGreaterThan(19_000);
			expect(refused.heldForMs).toBeLessThanOrEqual(20_000);
			expect(JSON.stringify(refused)).not.toContain(py.token);
			const released = await s.node({ resource: 'lock', operation: 'release', lockName: 'campaign_123', lockToken: py.token });
			expect(released).toMatchObject({ released: true, outcome: 'released' });
		});

		it('a node lease blocks Python; Python extends and releases it with the node token', async () => {
			const s = side('xk');
			const held = await s.node({ resource: 'lock', operation: 'acquire', lockName: 'c', lockTtl: 10 });
			expect(held.acquired).toBe(true);
			const [blocked, extended, released, again] = pyCalls(
				[
					{ method: 'acquire_lock', args: ['c'] },
					{ method: 'extend_lock', args: ['c', held.token], kwargs: { ttl: 60 } },
					{ method: 'release_lock', args: ['c', held.token] },
					{ method: 'release_lock', args: ['c', held.token] },
				],
				s.env,
			);
			expect(blocked).toMatchObject({ ok: { acquired: false, token: null } });
			expect((blocked as { ok: { held_for_ms: number } }).ok.held_for_ms).toBeGreaterThan(9000);
			expect((extended as { ok: { expires_at_ms: number } }).ok.expires_at_ms).toBeGreaterThan(Number(held.expiresAtMs) + 45_000);
			expect([released, again]).toEqual([{ ok: 'released' }, { ok: 'notHeld' }]);
		});
	});

	describe('rate limits (ratelimit:{key}, rate-limit role DB)', () => {
		it('Python and node checks count in one window: equal used, remaining, retry-after and TTL', async () => {
			const s = side('xr');
			const [first, second] = pyCalls(
				[
					{ method: 'rate_limit', args: ['api_linkedin'], kwargs: { max_requests: 3, window_seconds: 30 } },
					{ method: 'rate_limit', args: ['api_linkedin'], kwargs: { max_requests: 3, window_seconds: 30 } },
				],
				s.env,
			).map((r) => (r as { ok: IDataObject }).ok);
			expect([first.used, second.used, second.remaining]).toEqual([1, 2, 1]);
			const third = await s.node({ resource: 'rateLimit', operation: 'check', limitKey: 'api_linkedin', maxRequests: 3, windowSeconds: 30 });
			expect(third).toMatchObject({ allowed: true, used: 3, remaining: 0 });
			const fourth = await s.node({ resource: 'rateLimit', operation: 'check', limitKey: 'api_linkedin', maxRequests: 3, windowSeconds: 30 });
			expect(fourth).toMatchObject({ allowed: false, used: 3 });
			const status = s.py('rate_limit', ['api_linkedin'], { max_requests: 3, window_seconds: 30, consume: false }) as IDataObject;
			expect(status).toMatchObject({ allowed: false, used: 3, remaining: 0 });
			// The same window on both sides: the same end, and the same wait, less the time between the checks.
			expect(status.reset_at_ms).toBe(fourth.resetAtMs);
			expect(Number(fourth.retryAfterMs) - Number(status.retry_after_ms)).toBeGreaterThanOrEqual(0);
			expect(Number(fourth.retryAfterMs) - Number(status.retry_after_ms)).toBeLessThan(2000);
			expect(s.py('check_rate_limit', ['api_linkedin'], { max_requests: 3, window_seconds: 30 })).toBe(false);
			const pttl = await rawClient(MAPPED_DBS.rateLimit).pttl(s.keys.rateLimit('api_linkedin'));
			expect(pttl).toBeGreaterThan(28_000);
			expect(pttl).toBeLessThanOrEqual(30_000);
		});
	});
});
