import type Redis from 'ioredis';

import { KeySchema } from '../../platform/keys';
import { appendUpdate, updateEntryFields } from '../../platform/updates';
import { rawClient, testCredentials, uniquePrefix } from '../helpers/redis';
import { closeAfterTests, eventually as poll, pendingCount as countPending } from '../helpers/update-streams';
import { runManualStep, startTrigger, type ActiveTrigger, type StartTriggerOptions } from '../helpers/trigger';

// UPDATE_STREAM_ROLE is `default`, DB 0 in the test credential.
const redis = rawClient(0);
const keys = new KeySchema();
const started: ActiveTrigger[] = [];
const channels: string[] = [];

function newChannel(label: string): string {
	const channel = uniquePrefix(label);
	channels.push(channel);
	return channel;
}

async function start(
	ids: { workflowId: string; nodeId?: string },
	parameters: Record<string, unknown>,
	extra: Partial<StartTriggerOptions> = {},
) {
	const trigger = await startTrigger({
		parameters: { event: 'contentUpdateStream', ...parameters },
		credentials: testCredentials(),
		workflowId: ids.workflowId,
		nodeId: ids.nodeId ?? 'node-1',
		...extra,
	});
	started.push(trigger);
	return trigger;
}

async function publish(client: Redis, channel: string, messages: unknown[]): Promise<void> {
	const pipeline = client.pipeline();
	for (const message of messages) {
		appendUpdate(pipeline, keys.updatesStream(channel), updateEntryFields(channel, JSON.stringify(message)));
	}
	await pipeline.exec();
}

async function pendingCount(channel: string, group = 'n8n'): Promise<number> {
	return countPending(redis, keys.updatesStream(channel), group);
}

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
	await poll(check, () => what, timeoutMs);
}

closeAfterTests(redis, started, () => channels.splice(0).map((channel) => keys.updatesStream(channel)));

describe('Content Update (Durable Stream)', () => {
	it('delivers 1,000 updates published while the trigger was stopped, exactly once and in order', async () => {
		const channel = newChannel('durable');
		const ids = { workflowId: uniquePrefix('wf') };
		// First activation creates the group ("new updates only"), then the workflow is deactivated.
		const first = await start(ids, { channels: channel });
		await first.close();

		await publish(
			redis,
			channel,
			Array.from({ length: 1000 }, (_, seq) => ({ seq, status: 'approved' })),
		);

		const second = await start(ids, { channels: channel });
		const items = await second.waitFor(1000, 30_000);
		expect(items.map((i) => (i.message as { seq: number }).seq)).toEqual(Array.from({ length: 1000 }, (_, n) => n));
		expect(items[0]).toMatchObject({ channel, redelivered: false, message: { seq: 0, status: 'approved' } });
		expect(typeof items[0].publishedAt).toBe('string');
		expect(String(items[0].id)).toMatch(/^\d+-\d+$/);
		await eventually(async () => (await pendingCount(channel)) === 0, 'every entry to be acknowledged');
		// A later update proves nothing more was queued behind the 1,000.
		await publish(redis, channel, [{ seq: 'after' }]);
		await second.waitFor(1001);
		expect(second.emitted).toHaveLength(1001);
		expect(new Set(second.emitted.map((i) => i.id)).size).toBe(1001);
	});

	it('a new group sees only updates from its first activation on, unless "All Retained Updates" is chosen', async () => {
		const channel = newChannel('fresh');
		await publish(redis, channel, [{ old: 1 }, { old: 2 }]);
		const onlyNew = await start({ workflowId: uniquePrefix('wf') }, { channels: channel, options: { group: 'g-new' } });
		const all = await start(
			{ workflowId: uniquePrefix('wf') },
			{ channels: channel, options: { group: 'g-all', startAt: 'all' } },
		);
		await publish(redis, channel, [{ fresh: 1 }]);
		await onlyNew.waitFor(1);
		await all.waitFor(3);
		expect(onlyNew.emitted.map((i) => i.message)).toEqual([{ fresh: 1 }]);
		expect(all.emitted.map((i) => i.message)).toEqual([{ old: 1 }, { old: 2 }, { fresh: 1 }]);
	});

	it('acknowledges only when the execution finishes, one execution at a time by default', async () => {
		const channel = newChannel('ack');
		const finish: Array<() => void> = [];
		const trigger = await start(
			{ workflowId: uniquePrefix('wf') },
			{ channels: channel },
			{ execution: () => new Promise<void>((resolve) => finish.push(resolve)) },
		);
		await publish(redis, channel, [{ n: 1 }, { n: 2 }]);
		await trigger.waitFor(1);
		expect(await pendingCount(channel)).toBe(2);
		// The second update waits for the first execution.
		await new Promise((resolve) => setTimeout(resolve, 100));
		expect(trigger.emitted).toHaveLength(1);
		finish[0]();
		await trigger.waitFor(2);
		await eventually(async () => (await pendingCount(channel)) === 1, 'the first acknowledgement');
		finish[1]();
		await eventually(async () => (await pendingCount(channel)) === 0, 'the second acknowledgement');
	});

	it('redelivers updates whose execution was cut short, in order, when the workflow comes back', async () => {
		const channel = newChannel('crash');
		const ids = { workflowId: uniquePrefix('wf') };
		const stuck = await start(ids, { channels: channel }, { execution: () => new Promise<void>(() => undefined) });
		await publish(redis, channel, [{ n: 1 }, { n: 2 }, { n: 3 }]);
		await stuck.waitFor(1);
		// n8n goes away mid-execution: nothing was acknowledged.
		await stuck.close();
		expect(await pendingCount(channel)).toBe(3);

		const back = await start(ids, { channels: channel });
		const items = await back.waitFor(3);
		expect(items.map((i) => [(i.message as { n: number }).n, i.redelivered])).toEqual([
			[1, true],
			[2, true],
			[3, true],
		]);
		await eventually(async () => (await pendingCount(channel)) === 0, 'acknowledgements');
		// The earlier activation's consumer was taken over and removed.
		const consumers = (await redis.xinfo('CONSUMERS', keys.updatesStream(channel), 'n8n')) as unknown[];
		expect(consumers).toHaveLength(1);
	});

	it('applies filters (filtered-out entries are acknowledged, not emitted)', async () => {
		const channel = newChannel('filter');
		const trigger = await start(
			{ workflowId: uniquePrefix('wf') },
			{ channels: channel, filters: { filter: [{ path: 'data.status', value: 'approved' }] }, options: { acknowledge: 'emit' } },
		);
		await publish(redis, channel, [
			{ data: { status: 'draft' }, n: 1 },
			{ data: { status: 'approved' }, n: 2 },
			'not json',
			{ data: { status: 'approved' }, n: 3 },
		]);
		await trigger.waitFor(2);
		await eventually(async () => (await pendingCount(channel)) === 0, 'acknowledgements');
		expect(trigger.emitted.map((i) => (i.message as { n: number }).n)).toEqual([2, 3]);
	});

	it('"Test step" shows the next update without consuming from the group', async () => {
		const channel = newChannel('manual');
		await publish(redis, channel, [{ old: true }]);
		const step = runManualStep({
			parameters: { event: 'contentUpdateStream', channels: channel },
			credentials: testCredentials(),
			workflowId: uniquePrefix('wf'),
		});
		let settled = false;
		void step.finally(() => (settled = true));
		// Keep appending until the step has picked one up (it starts from the stream's end).
		for (let seq = 0; !settled && seq < 500; seq++) {
			await publish(redis, channel, [{ seq }]);
			await new Promise((resolve) => setTimeout(resolve, 20));
		}
		const result = await step;
		expect(result.error).toBeUndefined();
		expect(result.items).toHaveLength(1);
		expect(result.items[0]).toMatchObject({ channel, message: { seq: expect.any(Number) } });
		const groups = (await redis.xinfo('GROUPS', keys.updatesStream(channel))) as unknown[];
		expect(groups).toHaveLength(0);
	});

	it('recreates its consumer group when it disappears while the trigger runs', async () => {
		const channel = newChannel('nogroup');
		const trigger = await start({ workflowId: uniquePrefix('wf') }, { channels: channel });
		await publish(redis, channel, [{ n: 1 }]);
		await trigger.waitFor(1);
		await redis.xgroup('DESTROY', keys.updatesStream(channel), 'n8n');
		await publish(redis, channel, [{ n: 2 }]);
		await trigger.waitFor(2);
		expect(trigger.emitted.map((i) => i.message)).toEqual([{ n: 1 }, { n: 2 }]);
		expect(trigger.logs.some((l) => l.message.includes('consumer group missing'))).toBe(true);
	});

	it('fails activation with a readable error when the stream key holds another type', async () => {
		const channel = newChannel('wrongtype');
		await redis.set(keys.updatesStream(channel), 'not a stream');
		await expect(start({ workflowId: uniquePrefix('wf') }, { channels: channel })).rejects.toThrow(
			/Could not read the update stream: The key already holds a different kind of value/,
		);
	});

	it('moves on from an execution n8n never reports finished, leaving its update pending for the next activation', async () => {
		const channel = newChannel('lostexec');
		const ids = { workflowId: uniquePrefix('wf') };
		const stalled = await start(
			ids,
			{ channels: channel, options: { executionWaitMinutes: 0.005 } },
			{ execution: () => new Promise<void>(() => undefined) },
		);
		await publish(redis, channel, [{ n: 1 }, { n: 2 }]);
		// Without the limit the second update would wait forever behind the first.
		await stalled.waitFor(2);
		expect(await pendingCount(channel)).toBe(2);
		expect(stalled.logs.some((l) => l.message.includes('stays pending'))).toBe(true);
		await stalled.close();
		const back = await start(ids, { channels: channel });
		const items = await back.waitFor(2);
		expect(items.map((i) => [(i.message as { n: number }).n, i.redelivered])).toEqual([
			[1, true],
			[2, true],
		]);
		await eventually(async () => (await pendingCount(channel)) === 0, 'acknowledgements');
	});
});
