/**
 * "Coalesce By" on the Durable Stream trigger: updates of the same draft inside the window start
 * one execution with the newest of them, and every one of them stays pending until that execution
 * has finished, so closing the activation (n8n going away) mid-window or mid-execution loses none.
 * Real n8n TriggerContext, real Redis.
 */
import type Redis from 'ioredis';
import type { IDataObject } from 'n8n-workflow';

import { KeySchema } from '../../platform/keys';
import { appendUpdate, updateEntryFields } from '../../platform/updates';
import { rawClient, testCredentials, uniquePrefix } from '../helpers/redis';
import { closeAfterTests, eventually as poll, pendingCount as countPending } from '../helpers/update-streams';
import { startTrigger, type ActiveTrigger, type StartTriggerOptions } from '../helpers/trigger';

const redis = rawClient(0);
const keys = new KeySchema();
const started: ActiveTrigger[] = [];
const channels: string[] = [];

const DRAFTS = 5;
const EDITS = 10;

function newChannel(label: string): string {
	const channel = uniquePrefix(label);
	channels.push(channel);
	return channel;
}

async function start(workflowId: string, channel: string, options: IDataObject, extra: Partial<StartTriggerOptions> = {}) {
	const trigger = await startTrigger({
		parameters: { event: 'contentUpdateStream', channels: channel, options },
		credentials: testCredentials(),
		workflowId,
		nodeId: 'node-1',
		...extra,
	});
	started.push(trigger);
	return trigger;
}

/** Appends in one pipeline; returns the entry ids in order. */
async function publish(client: Redis, channel: string, messages: unknown[]): Promise<string[]> {
	const pipeline = client.pipeline();
	for (const message of messages) {
		appendUpdate(pipeline, keys.updatesStream(channel), updateEntryFields(channel, JSON.stringify(message)));
	}
	return ((await pipeline.exec()) ?? []).map(([, id]) => id as string);
}

/** Ten edits of each of five drafts, interleaved as editors would make them. */
function edits(): Array<{ draft_id: number; rev: number }> {
	return Array.from({ length: DRAFTS * EDITS }, (_, n) => ({ draft_id: n % DRAFTS, rev: Math.floor(n / DRAFTS) }));
}

const pendingCount = async (channel: string) => countPending(redis, keys.updatesStream(channel));
const eventually = async (check: () => Promise<boolean>, what: string) => poll(check, () => what);

/** draft_id -> [rev, coalesced, replacedIds.length, redelivered] of each emit, sorted by draft. */
function summary(items: IDataObject[]): Array<[number, number, number, number, boolean]> {
	return items
		.map((i) => {
			const message = i.message as { draft_id: number; rev: number };
			return [message.draft_id, message.rev, i.coalesced as number, (i.replacedIds as string[]).length, i.redelivered as boolean] as [
				number,
				number,
				number,
				number,
				boolean,
			];
		})
		.sort((a, b) => a[0] - b[0]);
}

const newestOfEach = (redelivered: boolean) =>
	Array.from({ length: DRAFTS }, (_, draft) => [draft, EDITS - 1, EDITS - 1, EDITS - 1, redelivered]);

closeAfterTests(redis, started, () => channels.splice(0).map((channel) => keys.updatesStream(channel)));

describe('Coalesce By (Durable Stream)', () => {
	it('50 updates of 5 drafts start 5 executions with the newest of each, acknowledged when they finish', async () => {
		const channel = newChannel('coalesce');
		const finish: Array<() => void> = [];
		const trigger = await start(
			uniquePrefix('wf'),
			channel,
			{ coalesceBy: 'draft_id', coalesceWindow: 1, maxParallel: DRAFTS + 1 },
			{ execution: () => new Promise<void>((resolve) => finish.push(resolve)) },
		);
		const ids = await publish(redis, channel, [...edits(), { note: 'no draft_id' }]);
		// The update without the field runs on its own, next to the five drafts.
		const items = await trigger.waitFor(DRAFTS + 1);
		const loose = items.find((i) => (i.message as IDataObject).note !== undefined)!;
		expect(loose).toMatchObject({ coalesced: 0, replacedIds: [], id: ids[ids.length - 1] });
		const drafts = items.filter((i) => i !== loose);
		expect(summary(drafts)).toEqual(newestOfEach(false));
		// Each execution names the entries it stands for: together with it, all 50, each once.
		const covered = drafts.flatMap((i) => [i.id as string, ...(i.replacedIds as string[])]);
		expect(covered.sort()).toEqual(ids.slice(0, -1).sort());
		// Nothing is acknowledged while the executions run.
		expect(await pendingCount(channel)).toBe(ids.length);
		for (const done of finish.splice(0)) done();
		await eventually(async () => (await pendingCount(channel)) === 0, 'all 51 acknowledged');
		// A later edit opens a new window: nothing more was gathered behind the five.
		await publish(redis, channel, [{ draft_id: 0, rev: 99 }]);
		await trigger.waitFor(DRAFTS + 2);
		finish.splice(0).forEach((done) => done());
		expect(trigger.emitted).toHaveLength(DRAFTS + 2);
		expect(trigger.emitted[DRAFTS + 1]).toMatchObject({ message: { draft_id: 0, rev: 99 }, coalesced: 0 });
	});

	it('compares values as text and leaves updates that fail the filters uncoalesced', async () => {
		const channel = newChannel('coalesce-text');
		const trigger = await start(uniquePrefix('wf'), channel, { coalesceBy: 'data.draft_id', coalesceWindow: 0.5, acknowledge: 'emit' }, {});
		await publish(redis, channel, [{ data: { draft_id: 7 }, rev: 1 }, { data: { draft_id: '7' }, rev: 2 }, { data: { draft_id: null }, rev: 3 }]);
		const items = await trigger.waitFor(2);
		expect(items.map((i) => [(i.message as { rev: number }).rev, i.coalesced]).sort()).toEqual([
			[2, 1],
			[3, 0],
		]);
		await eventually(async () => (await pendingCount(channel)) === 0, 'acknowledgements');
	});

	it('loses none of the 50 when n8n goes away mid-window: the next activation gathers them again', async () => {
		const channel = newChannel('coalesce-crash');
		const workflowId = uniquePrefix('wf');
		// A window that cannot end during the test: the activation surely closes inside it.
		const first = await start(workflowId, channel, { coalesceBy: 'draft_id', coalesceWindow: 3600 });
		const ids = await publish(redis, channel, edits());
		await eventually(async () => (await pendingCount(channel)) === ids.length, 'all 50 read by the first activation');
		await first.close();
		expect(first.emitted).toHaveLength(0);
		expect(await pendingCount(channel)).toBe(ids.length);

		const back = await start(workflowId, channel, { coalesceBy: 'draft_id', coalesceWindow: 0.2 });
		const items = await back.waitFor(DRAFTS);
		expect(summary(items)).toEqual(newestOfEach(true));
		await eventually(async () => (await pendingCount(channel)) === 0, 'all 50 acknowledged');
		expect(back.emitted).toHaveLength(DRAFTS);
	});

	it('loses none when n8n goes away mid-execution: the executions run again, coalesced again', async () => {
		const channel = newChannel('coalesce-exec');
		const workflowId = uniquePrefix('wf');
		const options = { coalesceBy: 'draft_id', coalesceWindow: 0.2, maxParallel: DRAFTS };
		const stuck = await start(workflowId, channel, options, { execution: () => new Promise<void>(() => undefined) });
		await publish(redis, channel, edits());
		await stuck.waitFor(DRAFTS);
		await stuck.close();
		expect(await pendingCount(channel)).toBe(DRAFTS * EDITS);

		const back = await start(workflowId, channel, options);
		expect(summary(await back.waitFor(DRAFTS))).toEqual(newestOfEach(true));
		await eventually(async () => (await pendingCount(channel)) === 0, 'all 50 acknowledged');
	});
});
