import { sharedPool } from '../../platform/connection-pool';
import { closeRawClients, rawClient, testCredentials, uniquePrefix } from '../helpers/redis';
import {
	runManualStep,
	startTrigger,
	waitForPatterns,
	waitForSubscribers,
	type ActiveTrigger,
} from '../helpers/trigger';

const publisher = rawClient();
const started: ActiveTrigger[] = [];

async function listen(parameters: Record<string, unknown>, ids: { workflowId?: string; nodeId?: string } = {}) {
	const trigger = await startTrigger({
		parameters: { event: 'contentUpdatePubSub', ...parameters },
		credentials: testCredentials(),
		workflowId: ids.workflowId ?? uniquePrefix('wf'),
		nodeId: ids.nodeId,
	});
	started.push(trigger);
	return trigger;
}

/** A publish then a marker, so "nothing emitted" is proven by the marker arriving alone. */
async function publishThenMarker(trigger: ActiveTrigger, channel: string, payloads: string[], marker: string) {
	const before = trigger.emitted.length;
	for (const payload of payloads) await publisher.publish(channel, payload);
	await publisher.publish(channel, marker);
	await trigger.waitFor(before + 1);
}

afterEach(async () => {
	await Promise.all(started.splice(0).map((t) => t.close()));
});

afterAll(async () => {
	await sharedPool.closeAll();
	await closeRawClients();
});

describe('Content Update (Pub/Sub)', () => {
	it('emits channel, parsed JSON message and receivedAt for an exact channel', async () => {
		const channel = `${uniquePrefix('content_updates')}`;
		const trigger = await listen({ channels: channel });
		await waitForSubscribers(publisher, channel);
		const before = Date.now();
		await publisher.publish(channel, JSON.stringify({ draft_id: 123, status: 'approved' }));
		const [item] = await trigger.waitFor(1);
		expect(item.channel).toBe(channel);
		expect(item.message).toEqual({ draft_id: 123, status: 'approved' });
		expect(item).not.toHaveProperty('pattern');
		const receivedAt = Date.parse(String(item.receivedAt));
		expect(receivedAt).toBeGreaterThanOrEqual(before - 1000);
		expect(trigger.errors).toEqual([]);
	});

	it('listens on several channels, one execution per message', async () => {
		const a = uniquePrefix('a');
		const b = uniquePrefix('b');
		const trigger = await listen({ channels: `${a}, ${b}` });
		await waitForSubscribers(publisher, a);
		await waitForSubscribers(publisher, b);
		await publisher.publish(a, '{"n":1}');
		await publisher.publish(b, '{"n":2}');
		const items = await trigger.waitFor(2);
		expect(items.map((i) => [i.channel, (i.message as { n: number }).n])).toEqual([
			[a, 1],
			[b, 2],
		]);
	});

	it('treats * in a channel name literally and in a pattern as a wildcard', async () => {
		const base = uniquePrefix('lit');
		const literal = `${base}*star`;
		const pattern = `campaign:${base}*:updates`;
		const trigger = await listen({ channels: literal, patterns: pattern });
		await waitForSubscribers(publisher, literal);
		await waitForPatterns(publisher, 1);
		// Would match if the channel were taken for a pattern:
		await publisher.publish(`${base}XYZstar`, '{"wrong":true}');
		await publisher.publish(literal, '{"exact":true}');
		await publisher.publish(`campaign:${base}42:updates`, '{"campaign":42}');
		const items = await trigger.waitFor(2);
		expect(items[0]).toMatchObject({ channel: literal, message: { exact: true } });
		expect(items[0]).not.toHaveProperty('pattern');
		expect(items[1]).toMatchObject({
			channel: `campaign:${base}42:updates`,
			pattern,
			message: { campaign: 42 },
		});
		await publishThenMarker(trigger, literal, [], '{"marker":1}');
		expect(trigger.emitted).toHaveLength(3);
	});

	it('passes non-JSON through as text by default', async () => {
		const channel = uniquePrefix('text');
		const trigger = await listen({ channels: channel });
		await waitForSubscribers(publisher, channel);
		await publisher.publish(channel, 'plain text, not JSON');
		await publisher.publish(channel, '42');
		const items = await trigger.waitFor(2);
		expect(items[0].message).toBe('plain text, not JSON');
		expect(items[1].message).toBe(42);
		expect(trigger.failedExecutions).toEqual([]);
	});

	it('reports non-JSON as a failed execution when asked, and keeps listening', async () => {
		const channel = uniquePrefix('strict');
		const trigger = await listen({ channels: channel, options: { nonJson: 'failedExecution' } });
		await waitForSubscribers(publisher, channel);
		await publisher.publish(channel, 'not json at all');
		await publisher.publish(channel, '{"ok":true}');
		const items = await trigger.waitFor(1);
		expect(items).toEqual([expect.objectContaining({ message: { ok: true } })]);
		expect(trigger.failedExecutions).toHaveLength(1);
		expect(trigger.failedExecutions[0].message).toContain('not valid JSON');
		expect(trigger.errors).toEqual([]);
	});

	it('skips non-JSON when asked, with a warning in the log', async () => {
		const channel = uniquePrefix('skip');
		const trigger = await listen({ channels: channel, options: { nonJson: 'skip' } });
		await waitForSubscribers(publisher, channel);
		await publishThenMarker(trigger, channel, ['<html>'], '{"marker":true}');
		expect(trigger.emitted.map((i) => i.message)).toEqual([{ marker: true }]);
		expect(trigger.logs.some((l) => l.level === 'warn' && l.message.includes('non-JSON'))).toBe(true);
	});

	it('emits only messages whose fields all match the filters, nested paths included', async () => {
		const channel = uniquePrefix('filtered');
		const trigger = await listen({
			channels: channel,
			filters: {
				filter: [
					{ path: 'data.status', value: 'approved' },
					{ path: 'draft_id', value: '123' },
				],
			},
		});
		await waitForSubscribers(publisher, channel);
		const payloads = [
			{ draft_id: 123, data: { status: 'draft' } },
			{ draft_id: 999, data: { status: 'approved' } },
			{ draft_id: 123, status: 'approved' },
			'not json',
			{ draft_id: '123', data: { status: 'approved' }, tag: 'match-1' },
			{ draft_id: 123, data: { status: 'approved' }, tag: 'match-2' },
		];
		for (const p of payloads) await publisher.publish(channel, typeof p === 'string' ? p : JSON.stringify(p));
		await trigger.waitFor(2);
		// A last matching message proves nothing else was queued behind the two matches.
		await publisher.publish(channel, JSON.stringify({ draft_id: 123, data: { status: 'approved' }, tag: 'last' }));
		await trigger.waitFor(3);
		expect(trigger.emitted.map((i) => (i.message as { tag: string }).tag)).toEqual(['match-1', 'match-2', 'last']);
	});

	it('does not subscribe twice when the same workflow is activated again', async () => {
		const channel = uniquePrefix('again');
		const ids = { workflowId: uniquePrefix('wf'), nodeId: 'node-1' };
		const first = await listen({ channels: channel }, ids);
		// Activated again without the first closeFunction having run (a failed or slow close).
		const second = await listen({ channels: channel }, ids);
		await waitForSubscribers(publisher, channel);
		const [, count] = (await publisher.pubsub('NUMSUB', channel)) as [string, number];
		expect(Number(count)).toBe(1);
		await publisher.publish(channel, '{"once":true}');
		await second.waitFor(1);
		await publishThenMarker(second, channel, [], '{"marker":true}');
		expect(first.emitted).toHaveLength(0);
		expect(second.emitted).toHaveLength(2);
	});

	it('closes its connection when the workflow is deactivated', async () => {
		const channel = uniquePrefix('close');
		const trigger = await listen({ channels: channel });
		await waitForSubscribers(publisher, channel);
		await trigger.close();
		const [, count] = (await publisher.pubsub('NUMSUB', channel)) as [string, number];
		expect(Number(count)).toBe(0);
	});

	it('refuses to start without a channel or pattern', async () => {
		await expect(listen({ channels: '', patterns: ' , ' })).rejects.toThrow('at least one channel or pattern');
	});

	it('fails activation with a readable error, without the password, when the password is wrong', async () => {
		const password = 'wrong-secret-Pa55';
		const attempt = startTrigger({
			parameters: { event: 'contentUpdatePubSub', channels: 'content_updates' },
			credentials: testCredentials({ password }),
		});
		const error = (await attempt.then(
			() => undefined,
			(e: Error) => e,
		)) as (Error & { description?: string }) | undefined;
		expect(error).toBeDefined();
		expect(error!.message).toMatch(/Could not subscribe: .*password/i);
		expect(`${error!.message} ${error!.description ?? ''}`).not.toContain(password);
	});

	it('"Test step" waits for the next matching message, shows it and closes', async () => {
		const channel = uniquePrefix('manual');
		const step = runManualStep({
			parameters: {
				event: 'contentUpdatePubSub',
				channels: channel,
				filters: { filter: [{ path: 'status', value: 'approved' }] },
			},
			credentials: testCredentials(),
			workflowId: uniquePrefix('wf'),
		});
		await waitForSubscribers(publisher, channel);
		await publisher.publish(channel, '{"status":"draft"}');
		await publisher.publish(channel, '{"status":"approved","n":1}');
		await publisher.publish(channel, '{"status":"approved","n":2}');
		const result = await step;
		expect(result.error).toBeUndefined();
		expect(result.items).toEqual([expect.objectContaining({ channel, message: { status: 'approved', n: 1 } })]);
		const [, count] = (await publisher.pubsub('NUMSUB', channel)) as [string, number];
		expect(Number(count)).toBe(0);
	});

	it('"Test step" shows a non-JSON message reported as failed as the step\'s error', async () => {
		const channel = uniquePrefix('manual-bad');
		const step = runManualStep({
			parameters: { event: 'contentUpdatePubSub', channels: channel, options: { nonJson: 'failedExecution' } },
			credentials: testCredentials(),
			workflowId: uniquePrefix('wf'),
		});
		await waitForSubscribers(publisher, channel);
		await publisher.publish(channel, 'definitely not json');
		const result = await step;
		expect(result.items).toEqual([]);
		expect(result.error?.message).toContain('not valid JSON');
	});
});
