/**
 * JobQueue.dequeue, the one way to take jobs: several at once, with an ack in the same call,
 * and a wait that opens its dedicated client only when the queue is empty.
 */
import { sharedPool } from '../../platform/connection-pool';
import { KeySchema } from '../../platform/keys';
import { JobQueue, QueueInputError } from '../../platform/queue';
import type { Redis } from '../../platform/redis-driver';
import { closeRawClients, rawClient, testConfig, uniquePrefix } from '../helpers/redis';

afterAll(async () => {
	await sharedPool.closeAll();
	await closeRawClients();
});

const config = testConfig();

function newQueue(): { queue: JobQueue; client: Redis } {
	const client = rawClient(config.dbs.queue);
	return { queue: new JobQueue(client, new KeySchema(uniquePrefix('dq')).queue('jobs')), client };
}

describe('dequeue', () => {
	it('acks a job and takes the next ones in one round trip, in queue order', async () => {
		const { queue, client } = newQueue();
		await queue.enqueue([1, 2, 3, 4].map((n) => ({ payload: n })));
		const { jobs: [first] } = await queue.dequeue();
		const pipelines = jest.spyOn(client, 'pipeline');
		const taken = await queue.dequeue({ max: 2, completing: first });
		expect(pipelines).toHaveBeenCalledTimes(1);
		expect(taken.completed).toBe('done');
		expect(taken.jobs.map((j) => j.payload)).toEqual([2, 3]);
		const rest = await queue.dequeue({ max: 5, completing: { id: first.id, lease: first.lease } });
		expect(rest.completed).toBe('missing');
		expect(rest.jobs.map((j) => j.payload)).toEqual([4]);
		expect((await queue.stats()).inFlight).toBe(3);
	});

	it('opens a dedicated client only when it has to wait, and releases it after the wait', async () => {
		const { queue } = newQueue();
		let opened = 0;
		let released = 0;
		const openBlocking = () => {
			opened += 1;
			const client = sharedPool.dedicated(config, 'queue', 'blocking');
			return { client, release: async () => void (released += 1, await sharedPool.release(client)) };
		};
		await queue.enqueue([{ payload: 'ready' }]);
		expect((await queue.dequeue({ timeoutMs: 5000, openBlocking })).jobs).toHaveLength(1);
		expect(opened).toBe(0);
		const empty = await queue.dequeue({ timeoutMs: 200, openBlocking });
		expect(empty).toEqual({ jobs: [], completed: undefined, nextRunAt: null });
		expect([opened, released]).toEqual([1, 1]);
	});

	it('refuses a wait without a dedicated client, and a max below 1', async () => {
		const { queue } = newQueue();
		await expect(queue.dequeue({ timeoutMs: 100 })).rejects.toThrow(/needs a dedicated client/);
		await expect(queue.dequeue({ max: 0 })).rejects.toThrow(QueueInputError);
	});
});
