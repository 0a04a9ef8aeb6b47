/** Shared by the durable-stream trigger tests: cleanup, the consumer group's pending count, polling for a state. */
import type Redis from 'ioredis';

import { sharedPool } from '../../platform/connection-pool';
import { closeRawClients, deleteKeys } from './redis';
import type { ActiveTrigger } from './trigger';

/** Entries delivered to the group and not acknowledged yet (XPENDING summary). */
export async function pendingCount(client: Redis, streamKey: string, group = 'n8n'): Promise<number> {
	return Number(((await client.xpending(streamKey, group)) as [number])[0]);
}

/** Polls `check` until it holds; the message names what never happened. */
export async function eventually(check: () => Promise<boolean> | boolean, what: () => string, timeoutMs = 10_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await check())) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}

/** Closes the triggers each test started; after the file, deletes its streams and closes every client. */
export function closeAfterTests(redis: Redis, started: ActiveTrigger[], streamKeys: () => string[]): void {
	afterEach(async () => {
		await Promise.all(started.splice(0).map(async (t) => t.close()));
	});
	afterAll(async () => {
		for (const key of streamKeys()) await deleteKeys(redis, key);
		await sharedPool.closeAll();
		await closeRawClients();
	});
}
