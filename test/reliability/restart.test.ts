/**
 * 1. Redis restart during work.
 *
 * "Written" means: the server acknowledged the command. These servers run with
 * `appendfsync always`, so an acknowledged write is on disk before its reply leaves the
 * server and must survive a SIGKILL + restart from the same directory. (Our redis.conf uses
 * `everysec`: a killed *process* still loses nothing acknowledged, because the AOF write()
 * precedes the reply and the page cache survives, but a *machine* crash may lose the last
 * second. `always` makes the check exact whatever the disk does.)
 */
import { runNode } from '../helpers/n8n';
import { sharedPool } from '../../platform/connection-pool';
import type { RedisServerHandle } from '../helpers/redis-server';
import { credentialsFor, raw, report, restartServer, scanKeys, sleep, startServer, stopAll, waitFor } from './support';

const DURABLE = ['--appendfsync', 'always'];
const ITEMS = 10_000;

afterAll(async () => {
	await sharedPool.closeAll();
	await stopAll();
});

function sessionBatch(server: RedisServerHandle, prefix: string, continueOnFail: boolean) {
	return runNode({
		continueOnFail,
		credentials: credentialsFor(server),
		parameters: {
			resource: 'session',
			operation: 'set',
			sessionId: `={{ "${prefix}" + $json.i }}`,
			// ~4 KB per session: the batch is ~40 MB, long enough on the wire to be killed mid-way.
			data: '={{ JSON.stringify({ i: $json.i, blob: "x".repeat(4000) }) }}',
			ttl: 3600,
		},
		items: Array.from({ length: ITEMS }, (_, i) => ({ i })),
	});
}

type Fault = 'kill' | 'drop';

/**
 * kill: SIGKILL the server once `threshold` keys exist, restart it 300 ms later from the same dir.
 * drop: the server stays up but closes every client connection (CLIENT KILL), as a proxy or
 * a network blip would; the client's reconnect then succeeds at once.
 */
async function injectFault(server: RedisServerHandle, fault: Fault, threshold: number): Promise<{ seen: number; server: RedisServerHandle }> {
	const watcher = raw(server, 0);
	let seen = 0;
	await waitFor(async () => {
		seen = await watcher.dbsize().catch(() => seen);
		return seen >= threshold;
	}, 120_000, 1);
	if (fault === 'drop') {
		await watcher.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
		return { seen, server };
	}
	await server.kill();
	await sleep(300);
	return { seen, server: await restartServer(server) };
}

describe('a 10,000-item Set Session batch loses its Redis mid-way', () => {
	it.each([
		['kill', false],
		['kill', true],
		['drop', false],
		['drop', true],
	] as Array<[Fault, boolean]>)('%s with continueOnFail=%s: a readable error or success, never success for an unwritten item', async (fault, continueOnFail) => {
		let server = await startServer({ args: DURABLE });
		const prefix = `${fault}${continueOnFail ? 'c' : 's'}:`;
		const started = Date.now();
		const running = sessionBatch(server, prefix, continueOnFail);
		const injected = await injectFault(server, fault, 2000);
		server = injected.server;
		const seenAtKill = injected.seen;
		// A hang here (the execution never settles) is itself a failure: the race turns it into one.
		const result = await Promise.race([
			running,
			sleep(60_000).then(() => {
				throw new Error('the execution did not settle within 60 s after the fault');
			}),
		]);
		const elapsed = Date.now() - started;

		const check = raw(server, 0);
		const present = new Set(await scanKeys(check, `session:${prefix}*`));
		let reportedStored = 0;
		let reportedFailed = 0;
		// Applied by the server but the reply was lost with the connection: safe (the user retries an idempotent SET).
		let appliedButReportedFailed = 0;
		const lostAcknowledged: string[] = [];
		if (continueOnFail) {
			expect(result.error).toBeUndefined();
			const out = result.outputs[0];
			expect(out).toHaveLength(ITEMS);
			out.forEach((json, index) => {
				expect(result.items[0][index].pairedItem).toEqual({ item: index });
				if (json.stored === true) {
					reportedStored++;
					if (!present.has(`session:${prefix}${index}`)) lostAcknowledged.push(String(index));
				} else {
					reportedFailed++;
					if (present.has(`session:${prefix}${index}`)) appliedButReportedFailed++;
					expect(String(json.error)).toMatch(/^Item \d+: Set Session failed: (The connection to Redis was lost|Connection refused)/);
				}
			});
		} else if (result.error) {
			reportedFailed = ITEMS;
			expect(result.error.message).toMatch(/Set Session failed: (The connection to Redis was lost|Connection refused)/);
			expect(result.error.message).not.toContain(server.password);
			expect(result.error.message).not.toMatch(/\n\s+at /);
		} else {
			// The kill landed after the last reply: the run is a success and every item must be there.
			reportedStored = ITEMS;
			for (let i = 0; i < ITEMS; i++) if (!present.has(`session:${prefix}${i}`)) lostAcknowledged.push(String(i));
		}
		// Every key that survived is a whole, valid session (no torn or misplaced writes).
		const keys = [...present];
		for (let from = 0; from < keys.length; from += 1000) {
			const slice = keys.slice(from, from + 1000);
			const values = await check.mget(...slice);
			values.forEach((text, n) => {
				const value = JSON.parse(text as string) as { i: number; blob: string };
				expect(slice[n]).toBe(`session:${prefix}${value.i}`);
				expect(value.blob).toHaveLength(4000);
			});
		}
		expect(lostAcknowledged).toEqual([]);
		report(`Fault "${fault}" during a 10,000-item Set Session batch (continueOnFail=${continueOnFail})`, ['figure', 'value'], [
			['keys present when the fault hit', seenAtKill],
			['items reported stored', reportedStored],
			['items reported failed', reportedFailed],
			['keys present afterwards', present.size],
			['reported stored but missing', lostAcknowledged.length],
			['written but reported failed (reply lost)', appliedButReportedFailed],
			['batch wall time incl. outage (ms)', elapsed],
		]);

		// The pooled client reconnects by itself: the next execution on the restarted server works.
		const after = await runNode({
			credentials: credentialsFor(server),
			parameters: { resource: 'session', operation: 'set', sessionId: `${prefix}after`, data: '{"ok":true}', ttl: 60 },
		});
		expect(after.error).toBeUndefined();
		expect(await check.exists(`session:${prefix}after`)).toBe(1);
	});
});
