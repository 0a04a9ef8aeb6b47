/**
 * The reader's side of coalescing, where the trigger cannot reach: executions of one value never
 * overlap (a newer group waits for the running one), and a delivery that failed merges, after its
 * backoff, with what arrived meanwhile into one delivery again. Real Redis.
 */
import { sharedPool } from '../../platform/connection-pool';
import { KeySchema } from '../../platform/keys';
import { appendUpdate, KeepPending, UpdateStreamReader, updateEntryFields, type UpdateEntry } from '../../platform/updates';
import { closeRawClients, deleteKeys, rawClient, testConfig, uniquePrefix } from '../helpers/redis';
import { captureLogger } from '../helpers/trigger';

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

async function until(check: () => Promise<boolean> | boolean, what: () => string): Promise<void> {
	const deadline = Date.now() + 10_000;
	while (!(await check())) {
		if (Date.now() > deadline) throw new Error(`timed out: ${what()}`);
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}

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
		streams: [{ key, channel }],
		group: 'n8n',
		consumer: 'c1',
		newGroupStartsAt: '$',
		blockMs: 100,
		maxInFlight: 2,
		giveUpAfterMs: 30_000,
		logger,
		redeliverAfterMs: () => 50,
		coalesce: { keyOf: (entry) => (JSON.parse(entry.fields.message) as { draft?: string }).draft, windowMs: 50 },
		handle: async (entry, replaced) =>
			new Promise<void>((resolve, reject) => void calls.push({ entry, replaced, resolve, reject })),
		onGiveUp: () => undefined,
	});
	const append = async (message: object) => (await appendUpdate(redis, key, updateEntryFields(channel, JSON.stringify(message)))) as string;
	const seen = () => JSON.stringify(calls.map((c) => [c.entry.id, c.replaced.length]));
	await reader.start();
	try {
		const a1 = await append({ draft: 'a', rev: 1 });
		await until(() => calls.length === 1, seen);
		// A newer edit of "a" while its execution runs, and one of "b".
		const a2 = await append({ draft: 'a', rev: 2 });
		const b1 = await append({ draft: 'b', rev: 1 });
		await until(() => calls.length === 2, seen);
		expect(calls[1].entry.id).toBe(b1);
		// Several windows later "a" still waits for its running execution; a free slot does not change that.
		calls[1].resolve();
		await new Promise((resolve) => setTimeout(resolve, 200));
		expect(calls).toHaveLength(2);
		expect(await pending(key)).toBe(2);

		// The running "a" fails: after the backoff it goes again together with the newer edit, as one.
		calls[0].reject(new KeepPending('the worker died'));
		await until(() => calls.length === 3, seen);
		expect(calls[2].entry).toMatchObject({ id: a2, redelivered: false });
		expect(calls[2].replaced.map((r) => [r.id, r.redelivered])).toEqual([[a1, true]]);
		expect(await pending(key)).toBe(2);
		calls[2].resolve();
		await until(async () => (await pending(key)) === 0, () => 'acknowledgements');
		expect(calls).toHaveLength(3);
		expect(logger.lines.some((l) => l.message.includes(`update ${a1} stays pending: the worker died`))).toBe(true);
	} finally {
		await reader.stop();
	}
});
