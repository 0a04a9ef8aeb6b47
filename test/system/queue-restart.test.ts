/**
 * A worker survives a Redis crash and restart (AOF on, our redis.conf): it keeps retrying, then
 * resumes on the same connections' reconnects, and no job enqueued before the crash is lost.
 */
import { sharedPool } from '../../platform/connection-pool';
import { defaultConfig } from '../../platform/config';
import { KeySchema } from '../../platform/keys';
import { JobQueue, QueueWorker } from '../../platform/queue';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server';

let server: RedisServerHandle;

beforeAll(async () => {
	// appendfsync always: the crash below must not eat the last second of writes.
	server = await startRedisServer({ args: ['--appendfsync', 'always'] });
});

afterAll(async () => {
	await sharedPool.closeAll();
	await server.stop();
	server.cleanup();
});

async function until(check: () => Promise<boolean> | boolean, what: string, ms = 20_000): Promise<void> {
	const end = Date.now() + ms;
	while (!(await Promise.resolve().then(check).catch(() => false))) {
		if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 50));
	}
}

describe('queue worker across a Redis restart', () => {
	it('keeps working after Redis is killed and restarted; every job is worked', async () => {
		const config = defaultConfig({ host: '127.0.0.1', port: server.port, password: server.password });
		const keys = new KeySchema('restart:').queue('jobs');
		const queue = new JobQueue(sharedPool.client(config, 'queue'), keys);
		const worked = new Set<string>();
		const errors: string[] = [];
		const blocking = sharedPool.dedicated(config, 'queue', 'blocking');
		const worker = new QueueWorker(
			queue,
			blocking,
			async (job) => {
				worked.add(String((job.payload as { n: number }).n));
			},
			{ concurrency: 2, visibilityMs: 2000, onError: (e) => errors.push(e.message) },
		);
		worker.start();
		try {
			await queue.enqueue(Array.from({ length: 50 }, (_, n) => ({ payload: { n } })));
			await until(() => worked.size === 50, 'the first 50 jobs');

			await server.kill();
			server = await server.restart();
			await until(() => errors.length > 0 || queue.client.status === 'ready', 'the reconnect');
			await until(async () => (await queue.enqueue([{ payload: { n: 50 } }])).length === 1, 'an enqueue after the restart');
			await queue.enqueue(Array.from({ length: 49 }, (_, n) => ({ payload: { n: n + 51 } })));
			await until(() => worked.size === 100, 'the jobs enqueued after the restart');
			await until(async () => (await queue.stats()).inFlight === 0, 'the last acks');
			expect(await queue.stats()).toMatchObject({ waiting: 0, inFlight: 0, delayed: 0, dead: 0 });
			expect(worker.isRunning).toBe(true);
		} finally {
			await worker.stop();
			await sharedPool.release(blocking);
		}
	});
});
