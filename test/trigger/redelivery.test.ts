/**
 * An entry whose delivery failed is delivered again by the same activation after a backoff:
 * n8n's main process may stay up for weeks while its queue-mode worker died mid-execution,
 * so "the next activation" alone would leave the update waiting that long. With coalescing, the
 * reader's side the trigger cannot reach: executions of one value never overlap (a newer group
 * waits for the running one), and a delivery that failed merges, after its backoff, with what
 * arrived meanwhile into one delivery again. Real Redis.
 */
import { sharedPool } from '../../platform/connection-pool';
import { KeySchema } from '../../platform/keys';
import { appendUpdate, KeepPending, UpdateStreamReader, updateEntryFields, type UpdateEntry } from '../../platform/updates';
import { defaultRedeliveryDelay } from '../../platform/updates/redelivery';
import { closeRawClients, deleteKeys, rawClient, testConfig, uniquePrefix } from '../helpers/redis';
import { captureLogger } from '../helpers/trigger';
import { eventually } from '../helpers/update-streams';

const redis = rawClient(0);
const streams: string[] = [];

afterAll(async () => {
	for (const key of streams) await deleteKeys(redis, key);
	await sharedPool.closeAll();
	await closeRawClients();
});

async function pending(key: string): Promise<number> {
	return Number(((await redis.xpending(key, 'n8n')) as [number])[0]);
}

/** One consumer reading fast, with a 50 ms redelivery backoff. */
function readerBasics(key: string, channel: string, logger: ReturnType<typeof captureLogger>) {
	return {
		streams: [{ key, channel }],
		group: 'n8n',
		consumer: 'c1',
		newGroupStartsAt: '$' as const,
		blockMs: 100,
		giveUpAfterMs: 30_000,
		logger,
		redeliverAfterMs: () => 50,
		onGiveUp: () => undefined,
	};
}

it('hands a failed entry out again after the backoff and acknowledges it once it succeeds', async () => {
	const channel = uniquePrefix('redeliver');
	const key = new KeySchema().updatesStream(channel);
	streams.push(key);
	const deliveries: Array<{ id: string; redelivered: boolean }> = [];
	const logger = captureLogger();
	const reader = new UpdateStreamReader(testConfig(), {
		...readerBasics(key, channel, logger),
		handle: (entry) => {
			deliveries.push({ id: entry.id, redelivered: entry.redelivered });
			// The first two deliveries end like a run n8n ended before the workflow ran.
			if (deliveries.length <= 2) return Promise.reject(new KeepPending('the worker died'));
			return undefined;
		},
	});
	await reader.start();
	try {
		const id = (await appendUpdate(redis, key, updateEntryFields(channel, '{"draft":1}'))) as string;
		const deadline = Date.now() + 10_000;
		while (deliveries.length < 3 || (await pending(key)) !== 0) {
			if (Date.now() > deadline) throw new Error(`deliveries ${JSON.stringify(deliveries)}, pending ${await pending(key)}`);
			await new Promise((resolve) => setTimeout(resolve, 20));
		}
		expect(deliveries).toEqual([
			{ id, redelivered: false },
			{ id, redelivered: true },
			{ id, redelivered: true },
		]);
		expect(logger.lines.filter((l) => l.message.includes(`update ${id} stays pending: the worker died`))).toHaveLength(2);
	} finally {
		await reader.stop();
	}
});

it('backs off 15 s, doubling, up to 10 minutes', () => {
	expect([1, 2, 3, 6, 7, 20].map(defaultRedeliveryDelay)).toEqual([15_000, 30_000, 60_000, 480_000, 600_000, 600_000]);
});

interface Call {
	entry: UpdateEntry;
	replaced: UpdateEntry[];
	resolve(): void;
	reject(error: Error): void;
}

it('runs one value at a time and merges a failed delivery with newer entries after the backoff', async () => {
	const channel = uniquePrefix('coalesce-retry');
	const key = new KeySchema().updatesStream(channel);
	streams.push(key);
	const calls: Call[] = [];
	const logger = captureLogger();
	const reader = new UpdateStreamReader(testConfig(), {
		...readerBasics(key, channel, logger),
		maxInFlight: 2,
		coalesce: { keyOf: (entry) => (JSON.parse(entry.fields.message) as { draft?: string }).draft, windowMs: 50 },
		handle: async (entry, replaced) =>
			new Promise<void>((resolve, reject) => void calls.push({ entry, replaced, resolve, reject })),
	});
	const append = async (message: object) => (await appendUpdate(redis, key, updateEntryFields(channel, JSON.stringify(message)))) as string;
	const seen = () => JSON.stringify(calls.map((c) => [c.entry.id, c.replaced.length]));
	await reader.start();
	try {
		const a1 = await append({ draft: 'a', rev: 1 });
		await eventually(() => calls.length === 1, seen);
		// A newer edit of "a" while its execution runs, and one of "b".
		const a2 = await append({ draft: 'a', rev: 2 });
		const b1 = await append({ draft: 'b', rev: 1 });
		await eventually(() => calls.length === 2, seen);
		expect(calls[1].entry.id).toBe(b1);
		// Several windows later "a" still waits for its running execution; a free slot does not change that.
		calls[1].resolve();
		await new Promise((resolve) => setTimeout(resolve, 200));
		expect(calls).toHaveLength(2);
		expect(await pending(key)).toBe(2);

		// The running "a" fails: after the backoff it goes again together with the newer edit, as one.
		calls[0].reject(new KeepPending('the worker died'));
		await eventually(() => calls.length === 3, seen);
		expect(calls[2].entry).toMatchObject({ id: a2, redelivered: false });
		expect(calls[2].replaced.map((r) => [r.id, r.redelivered])).toEqual([[a1, true]]);
		expect(await pending(key)).toBe(2);
		calls[2].resolve();
		await eventually(async () => (await pending(key)) === 0, () => 'acknowledgements');
		expect(calls).toHaveLength(3);
		expect(logger.lines.some((l) => l.message.includes(`update ${a1} stays pending: the worker died`))).toBe(true);
	} finally {
		await reader.stop();
	}
});
