import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import { runNode } from '../helpers/n8n';
import { closeRawClients, rawClient, uniquePrefix } from '../helpers/redis';
import { sharedPool } from '../../platform/connection-pool';
import { KeySchema } from '../../platform/keys';

afterAll(async () => {
	await sharedPool.closeAll();
	await closeRawClients();
});

const job = (operation: string, extra: Record<string, unknown> = {}) => ({ resource: 'job', operation, ...extra });

describe('Job resource', () => {
	it('enqueues many items in one pipeline with per-item expressions, de-duplicating by job id', async () => {
		const queue = uniquePrefix('nq');
		const result = await runNode({
			parameters: job('enqueue', {
				queue,
				payload: '={{ JSON.stringify({ campaign_id: $json.c, type: "blog" }) }}',
				options: { jobId: '={{ $json.key }}', maxAttempts: 4 },
			}),
			items: [
				{ c: 1, key: 'k1' },
				{ c: 2, key: 'k2' },
				{ c: 3, key: 'k1' },
				{ c: 4, key: '' },
			],
		});
		expect(result.error).toBeUndefined();
		const out = result.outputs[0];
		expect(out.map((o) => o.enqueued)).toEqual([true, true, false, true]);
		expect(out[2]).toMatchObject({ id: 'k1', duplicate: true });
		expect(out[3].id).toMatch(/^[0-9a-f-]{36}$/);
		expect(result.items[0].map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }, { item: 3 }]);
		const raw = rawClient(3);
		const entries = (await raw.lrange(`queue:${queue}`, 0, -1)).map((e) => JSON.parse(e));
		expect(entries.map((e) => e.payload.campaign_id)).toEqual([4, 2, 1]);
		expect(entries[2]).toMatchObject({ id: 'k1', attempt: 0, maxAttempts: 4 });
	});

	it('rejects a bad option naming the item and field, enqueueing nothing', async () => {
		const queue = uniquePrefix('nq');
		const result = await runNode({
			parameters: job('enqueue', { queue, payload: '{"a":1}', options: { priority: '={{ $json.p }}' } }),
			items: [{ p: 1 }, { p: 500 }],
		});
		expect(result.error?.message).toMatch(/^"Priority" must be a whole number of at least 0 \(at most 100\), got 500.* \[item 1\]$/);
		expect(await rawClient(3).exists(`queue:${queue}`, `{queue:${queue}}:priority`)).toBe(0);
	});

	it('dequeues with a visibility timeout, completes, and fails into the dead-letter list', async () => {
		const queue = uniquePrefix('nq');
		await runNode({
			parameters: job('enqueue', { queue, payload: '={{ JSON.stringify({ n: $json.n }) }}', options: { maxAttempts: 1 } }),
			items: [{ n: 1 }, { n: 2 }],
		});
		const taken = await runNode({ parameters: job('dequeue', { queue, timeout: 0, visibilityTimeout: 120, whenEmpty: 'noItem', options: { maxJobs: 5 } }) });
		expect(taken.error).toBeUndefined();
		const [first, second] = taken.outputs[0];
		expect(taken.outputs[0]).toHaveLength(2);
		expect(first).toMatchObject({ queue, payload: { n: 1 }, attempt: 1, maxAttempts: 1, lastError: null });
		expect(Date.parse(first.visibleUntil as string)).toBeGreaterThan(Date.now() + 100_000);
		expect(typeof first.enqueuedAt).toBe('string');

		const completed = await runNode({ parameters: job('complete', { queue, jobId: '={{ $json.id }}' }), items: [first] });
		expect(completed.outputs[0][0]).toMatchObject({ id: first.id, completed: true });
		const again = await runNode({ parameters: job('complete', { queue, jobId: first.id as string }) });
		expect(again.outputs[0][0]).toMatchObject({ completed: false, reason: expect.stringMatching(/not in flight/) });

		const failed = await runNode({
			parameters: job('fail', { queue, jobId: '={{ $json.id }}', errorMessage: '={{ "API down for " + $json.payload.n }}' }),
			items: [second],
		});
		expect(failed.outputs[0][0]).toMatchObject({ id: second.id, status: 'dead', attempt: 1, error: 'API down for 2' });

		const stats = await runNode({ parameters: job('stats', { queue }) });
		expect(stats.outputs[0][0]).toMatchObject({ queue, waiting: 0, inFlight: 0, delayed: 0, dead: 1 });

		const retried = await runNode({ parameters: job('retryDead', { queue, options: { jobId: second.id } }) });
		expect(retried.outputs[0][0]).toMatchObject({ retried: 1, found: true });
		const back = await runNode({ parameters: job('dequeue', { queue, timeout: 0, visibilityTimeout: 60, whenEmpty: 'noItem' }) });
		expect(back.outputs[0][0]).toMatchObject({ id: second.id, attempt: 1 });
		await runNode({ parameters: job('fail', { queue, jobId: second.id as string, errorMessage: 'again', options: { retry: false } }) });
		const purged = await runNode({ parameters: job('purgeDead', { queue }) });
		expect(purged.outputs[0][0]).toMatchObject({ deleted: 1 });
	});

	it('returns no item, or an empty flag, when the queue stays empty past the timeout', async () => {
		const queue = uniquePrefix('nq');
		const none = await runNode({ parameters: job('dequeue', { queue, timeout: 1, visibilityTimeout: 60, whenEmpty: 'noItem' }) });
		expect(none.error).toBeUndefined();
		expect(none.outputs[0] ?? []).toHaveLength(0);
		const flagged = await runNode({ parameters: job('dequeue', { queue, timeout: 0, visibilityTimeout: 60, whenEmpty: 'emptyFlag' }) });
		expect(flagged.outputs[0]).toEqual([{ queue, empty: true }]);
		// The blocking wait ran on a dedicated client that was released again.
		expect(sharedPool.size).toBeLessThanOrEqual(1);
	});

	it('blocks until a job is pushed during the wait', async () => {
		const queue = uniquePrefix('nq');
		setTimeout(() => void rawClient(3).lpush(`queue:${queue}`, '{"pushed": "later"}'), 300);
		const result = await runNode({ parameters: job('dequeue', { queue, timeout: 10, visibilityTimeout: 60, whenEmpty: 'emptyFlag' }) });
		expect(result.outputs[0][0]).toMatchObject({ payload: { pushed: 'later' }, attempt: 1 });
	});

	it('fails with retry and backoff, and Recover Stalled returns jobs whose visibility timeout ran out', async () => {
		const queue = uniquePrefix('nq');
		await runNode({ parameters: job('enqueue', { queue, payload: '{"r":1}', options: { jobId: 'r1', backoffSeconds: 30 } }) });
		await runNode({ parameters: job('dequeue', { queue, timeout: 0, visibilityTimeout: 60, whenEmpty: 'noItem' }) });
		const failed = await runNode({ parameters: job('fail', { queue, jobId: 'r1', errorMessage: 'try later' }) });
		expect(failed.outputs[0][0]).toMatchObject({ status: 'retry', attempt: 1 });
		expect(Date.parse(failed.outputs[0][0].retryAt as string)).toBeGreaterThan(Date.now() + 20_000);

		await runNode({ parameters: job('enqueue', { queue, payload: '{"s":1}', options: { jobId: 's1' } }) });
		await runNode({ parameters: job('dequeue', { queue, timeout: 0, visibilityTimeout: 1, whenEmpty: 'noItem' }) });
		await new Promise((r) => setTimeout(r, 1100));
		const recovered = await runNode({ parameters: job('recoverStalled', { queue }) });
		expect(recovered.outputs[0][0]).toMatchObject({ recovered: 1, deadLettered: 0 });
		const stats = await runNode({ parameters: job('stats', { queue }) });
		expect(stats.outputs[0][0]).toMatchObject({ waiting: 1, delayed: 1, inFlight: 0 });
	});

	it('uses the credential key prefix and the queue DB from the credential', async () => {
		const queue = uniquePrefix('nq');
		const credentials = (await import('../helpers/redis')).testCredentials({ queueDb: 6, keyPrefix: 'tenant7:' }) as ICredentialDataDecryptedObject;
		await runNode({ credentials, credentialId: 'cred-q6', parameters: job('enqueue', { queue, payload: '{"t":7}' }) });
		const keys = new KeySchema('tenant7:').queue(queue);
		expect(keys.waiting).toBe(`tenant7:queue:${queue}`);
		expect(await rawClient(6).llen(keys.waiting)).toBe(1);
		expect(await rawClient(3).exists(keys.waiting)).toBe(0);
	});
});

describe('queue names and Cluster hash tags', () => {
	it('refuses braces in a queue name, which would split the queue across Cluster slots', async () => {
		const result = await runNode({ parameters: job('enqueue', { queue: 'a}{b', payload: '{"a":1}' }) });
		expect(result.error?.message).toMatch(/^"Queue Name" must not contain \{ or \}.* \[item 0\]$/);
		expect(await rawClient(3).exists('queue:a}{b')).toBe(0);
	});
});
