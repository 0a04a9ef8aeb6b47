/**
 * An entry whose delivery failed is delivered again by the same activation after a backoff:
 * n8n's main process may stay up for weeks while its queue-mode worker died mid-execution,
 * so "the next activation" alone would leave the update waiting that long. Real Redis.
 */
import { sharedPool } from '../../platform/connection-pool';
import { KeySchema } from '../../platform/keys';
import { appendUpdate, KeepPending, UpdateStreamReader, updateEntryFields } from '../../platform/updates';
import { defaultRedeliveryDelay } from '../../platform/updates/redelivery';
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

it('hands a failed entry out again after the backoff and acknowledges it once it succeeds', async () => {
	const channel = uniquePrefix('redeliver');
	const key = new KeySchema().updatesStream(channel);
	streams.push(key);
	const deliveries: Array<{ id: string; redelivered: boolean }> = [];
	const logger = captureLogger();
	const reader = new UpdateStreamReader(testConfig(), {
		streams: [{ key, channel }],
		group: 'n8n',
		consumer: 'c1',
		newGroupStartsAt: '$',
		blockMs: 100,
		giveUpAfterMs: 30_000,
		logger,
		redeliverAfterMs: () => 50,
		handle: (entry) => {
			deliveries.push({ id: entry.id, redelivered: entry.redelivered });
			// The first two deliveries end like a run n8n ended before the workflow ran.
			if (deliveries.length <= 2) return Promise.reject(new KeepPending('the worker died'));
			return undefined;
		},
		onGiveUp: () => undefined,
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
