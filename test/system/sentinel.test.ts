/**
 * Sentinel mode against a real master + replica + three sentinels on loopback: the node,
 * the pub/sub trigger and the queue-worker trigger all talk to the current master, and keep
 * working when the master is killed (SIGKILL) and a sentinel promotes the replica.
 */
import Redis from 'ioredis';
import type { ICredentialDataDecryptedObject, ICredentialTestFunctions, IDataObject } from 'n8n-workflow';

import { marketingRedisConnectionTest } from '../../nodes/shared/connection-test';
import { sharedPool } from '../../platform/connection-pool';
import { KeySchema } from '../../platform/keys';
import { runNode } from '../helpers/n8n';
import { closeRawClients, uniquePrefix } from '../helpers/redis';
import { freePort } from '../helpers/redis-server';
import { startTrigger, type ActiveTrigger } from '../helpers/trigger';
import { startSentinelTopology, type SentinelTopology } from '../helpers/topology';

let topo: SentinelTopology;
const triggers: ActiveTrigger[] = [];
const plain: Redis[] = [];

beforeAll(async () => {
	topo = await startSentinelTopology({ downAfterMs: 1000, failoverTimeoutMs: 5000 });
}, 60_000);

afterAll(async () => {
	for (const t of triggers) await t.close().catch(() => undefined);
	for (const c of plain) c.disconnect();
	await sharedPool.closeAll();
	await closeRawClients();
	await topo?.stop();
});

/** A plain client straight to one data node, bypassing Sentinel, to check where data went. */
function nodeClient(port: number, db = 0): Redis {
	const client = new Redis({ host: '127.0.0.1', port, password: topo.password, db, lazyConnect: false });
	client.on('error', () => undefined);
	plain.push(client);
	return client;
}

function creds(): ICredentialDataDecryptedObject {
	return topo.credentials() as ICredentialDataDecryptedObject;
}

const keys = new KeySchema('');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
	const end = Date.now() + ms;
	while (!(await check())) {
		if (Date.now() > end) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
		await sleep(25);
	}
}

describe('Sentinel mode', () => {
	it('the credential test finds the master through the sentinels', async () => {
		const result = await marketingRedisConnectionTest.call({} as ICredentialTestFunctions, {
			id: 'sentinel',
			name: 'Sentinel',
			type: 'marketingRedisApi',
			data: creds(),
		});
		expect(result).toMatchObject({ status: 'OK' });
		expect(result.message).toMatch(/master "mymaster" via Sentinel/);
	});

	it('fails an execution while no sentinel answers instead of waiting forever', async () => {
		const result = await runNode({
			parameters: { resource: 'session', operation: 'set', sessionId: 'x', data: '{}', ttl: 60 },
			credentials: topo.credentials({ sentinels: `127.0.0.1:${await freePort()}` }) as ICredentialDataDecryptedObject,
			credentialId: 'sentinel-dead',
		});
		expect(result.error?.message).toMatch(/^Set Session failed: .* \[item 0\]$/);
		expect(result.error?.message).not.toContain(topo.sentinelPassword);
	}, 20_000);

	it('node operations write to the current master, in the mapped DB, and replicate', async () => {
		const p = uniquePrefix('sn');
		const result = await runNode({
			parameters: { resource: 'session', operation: 'set', sessionId: '={{ $json.id }}', data: '{"via":"sentinel"}', ttl: 300 },
			items: [{ id: `${p}a` }, { id: `${p}b` }],
			credentials: creds(),
			credentialId: 'sentinel',
		});
		expect(result.error).toBeUndefined();
		expect(await nodeClient(topo.master.port, 0).get(keys.session(`${p}a`))).toBe('{"via":"sentinel"}');
		await until(async () => (await nodeClient(topo.replica.port, 0).exists(keys.session(`${p}b`))) === 1, 'replication');
		const cached = await runNode({
			parameters: { resource: 'content', operation: 'cache', contentId: `${p}c`, valueType: 'text', text: 'x', ttl: 60 },
			credentials: creds(),
			credentialId: 'sentinel',
		});
		expect(cached.error).toBeUndefined();
		expect(await nodeClient(topo.master.port, 1).get(keys.content(`${p}c`))).toBe('x');
	});

	it('survives a master kill: node writes resume, no acknowledged job is lost, the triggers resubscribe', async () => {
		const p = uniquePrefix('fo');
		const queue = `${p}jobs`;
		const channel = `${p}updates`;
		const oldMaster = topo.master.port;

		// A session written before the failover must be readable after it (it was replicated).
		await runNode({
			parameters: { resource: 'session', operation: 'set', sessionId: `${p}before`, data: '{"n":1}', ttl: 300 },
			credentials: creds(),
			credentialId: 'sentinel',
		});

		const processed: number[] = [];
		const pubsub = await startTrigger({
			workflowId: 'wf-sentinel-pubsub',
			parameters: { event: 'contentUpdatePubSub', channels: channel, patterns: '', options: { giveUpAfter: 120 } },
			credentials: creds(),
		});
		triggers.push(pubsub);
		const stream = await startTrigger({
			workflowId: 'wf-sentinel-stream',
			parameters: { event: 'contentUpdateStream', channels: `${p}durable`, options: { startAt: 'all', giveUpAfter: 120 } },
			credentials: creds(),
		});
		triggers.push(stream);
		const publishDurable = async (phase: string) =>
			runNode({
				parameters: { resource: 'update', operation: 'publish', channel: `${p}durable`, message: `={{ JSON.stringify({ phase: "${phase}", i: $json.i }) }}`, options: { durable: true } },
				items: [{ i: 0 }, { i: 1 }],
				credentials: creds(),
				credentialId: 'sentinel',
			});
		const worker = await startTrigger({
			workflowId: 'wf-sentinel-queue',
			parameters: { event: 'jobAvailable', queue: queue, maxParallelJobs: 2, visibilityTimeout: 2 },
			credentials: creds(),
			execution: async (json: IDataObject) => {
				await sleep(5);
				processed.push(Number((json.payload as IDataObject).n));
			},
		});
		triggers.push(worker);

		const acked: number[] = [];
		const outageErrors = new Set<string>();
		const enqueue = async (n: number): Promise<boolean> => {
			const result = await runNode({
				parameters: { resource: 'job', operation: 'enqueue', queue, payload: `={{ JSON.stringify({ n: ${n} }) }}` },
				credentials: creds(),
				credentialId: 'sentinel',
			});
			if (result.error) outageErrors.add(result.error.message);
			if (result.error || result.outputs[0]?.[0]?.enqueued !== true) return false;
			acked.push(n);
			return true;
		};

		// Before the failover: jobs flow and messages arrive.
		for (let n = 0; n < 10; n++) expect(await enqueue(n)).toBe(true);
		await until(() => processed.length >= 10, 'the first 10 jobs');
		const master = nodeClient(oldMaster);
		await until(async () => ((await master.pubsub('NUMSUB', channel)) as [string, number])[1] >= 1, 'the subscription');
		await master.publish(channel, JSON.stringify({ phase: 'before' }));
		await pubsub.waitFor(1);
		expect((await publishDurable('before')).error).toBeUndefined();
		await stream.waitFor(2);

		// A producer writes through the node all along; its first success after the kill is
		// the failover time the node sees.
		let n = 10;
		let killedAt = 0;
		let firstWriteAfterKill = 0;
		let producing = true;
		const producer = (async () => {
			while (producing) {
				// Only a write sent after the kill proves the node reached the new master.
				const sentAfterKill = killedAt > 0;
				const ok = await enqueue(n).catch(() => false);
				if (ok) {
					n += 1;
					if (sentAfterKill && !firstWriteAfterKill) firstWriteAfterKill = performance.now();
				}
				await sleep(ok ? 20 : 50);
			}
		})();
		await until(() => n >= 15, 'the producer to run');

		killedAt = performance.now();
		await topo.master.kill();
		const newMaster = await topo.waitForFailover(oldMaster);
		const promotedAt = performance.now();
		expect(newMaster).toBe(topo.replica.port);
		await until(() => firstWriteAfterKill > 0, 'a node write to succeed after the failover', 30_000);

		// The pub/sub trigger resubscribes on the promoted master by itself.
		const promoted = nodeClient(newMaster);
		await until(
			async () => ((await promoted.pubsub('NUMSUB', channel)) as [string, number])[1] >= 1,
			'the trigger to resubscribe on the new master',
		);
		const resubscribedAt = performance.now();
		for (let i = 0; i < 5; i++) await promoted.publish(channel, JSON.stringify({ phase: 'after', i }));
		const emitted = await pubsub.waitFor(6);
		expect(emitted.slice(1).map((e) => e.payload ?? e.message ?? e)).toHaveLength(5);
		expect(JSON.stringify(emitted.slice(1))).toContain('"phase":"after"');

		// The durable stream trigger reads on from the promoted master.
		expect((await publishDurable('after')).error).toBeUndefined();
		const streamed = await stream.waitFor(4);
		expect(JSON.stringify(streamed.slice(2))).toContain('"phase":"after"');

		const writesAfter = n + 5;
		await until(() => n >= writesAfter, 'more node writes after the failover');
		producing = false;
		await producer;

		// Every job the node acknowledged is processed, before or after the failover (at least once).
		try {
			await until(() => acked.every((j) => processed.includes(j)), 'every acknowledged job to be processed', 15_000);
		} catch (e) {
			console.log('Failover diagnostics', JSON.stringify({ acked, processed, logs: worker.logs.slice(-30), errs: worker.errors.map(String), killedAt, firstWriteAfterKill, promotedAt }));
			console.log('Failover diagnostics: queue keys', await promoted.keys('*' + queue + '*'), await nodeClient(newMaster, 3).keys('*'));
			throw e;
		}
		const missing = acked.filter((j) => !processed.includes(j));
		expect(missing).toEqual([]);
		const session = await runNode({
			parameters: { resource: 'session', operation: 'get', sessionId: `${p}before` },
			credentials: creds(),
			credentialId: 'sentinel',
		});
		expect(session.outputs[0][0]).toMatchObject({ found: true, data: { n: 1 } });
		expect(pubsub.errors).toEqual([]);
		expect(stream.errors).toEqual([]);
		expect(worker.errors).toEqual([]);
		// What a workflow sees during the outage: a readable error, never a secret.
		for (const message of outageErrors) {
			expect(message).not.toContain(topo.password);
			expect(message).not.toContain(topo.sentinelPassword);
		}

		const figures = {
			failoverSeenByNodeMs: Math.round(firstWriteAfterKill - killedAt),
			sentinelPromotionMs: Math.round(promotedAt - killedAt),
			triggerResubscribedMs: Math.round(resubscribedAt - killedAt),
			jobsAcknowledged: acked.length,
			jobsProcessed: processed.length,
			duplicateDeliveries: processed.length - new Set(processed).size,
			errorsSeenDuringOutage: [...outageErrors],
		};
		// The report the issue asks for: how long the node saw the outage.
		console.log(`Sentinel failover figures: ${JSON.stringify(figures)}`);
		// The node follows the promotion promptly (measured: tens of ms); the bound is generous
		// for a loaded machine but fails a client that waits out a long reconnect backoff.
		expect(figures.failoverSeenByNodeMs).toBeGreaterThan(figures.sentinelPromotionMs - 500);
		expect(figures.failoverSeenByNodeMs - figures.sentinelPromotionMs).toBeLessThan(3000);
	});

	it('follows a graceful failover (SENTINEL FAILOVER): the demoted master is left at once, no READONLY errors', async () => {
		const p = uniquePrefix('gf');
		// The master killed above comes back; the sentinels make it a replica of the new master.
		const returned = await topo.restart(topo.master);
		const back = nodeClient(returned.port);
		await until(
			async () => /master_link_status:up/.test(await back.info('replication')),
			'the old master to rejoin as a replica',
			30_000,
		);
		const write = async (n: number) =>
			runNode({
				parameters: { resource: 'session', operation: 'set', sessionId: `${p}${n}`, data: `{"n":${n}}`, ttl: 300 },
				credentials: creds(),
				credentialId: 'sentinel',
			});
		expect((await write(0)).error).toBeUndefined();
		const before = topo.currentMasterPort() as number;
		const sentinel = new Redis({ host: '127.0.0.1', port: topo.sentinels[0].port, password: topo.sentinelPassword });
		plain.push(sentinel);
		const started = performance.now();
		await sentinel.call('SENTINEL', 'FAILOVER', topo.masterName);
		const after = await topo.waitForFailover(before);
		const switchedAt = performance.now();
		expect(after).toBe(returned.port);
		const errors: string[] = [];
		let n = 1;
		let firstOk = 0;
		while (performance.now() - started < 20_000) {
			const result = await write(n);
			if (result.error) errors.push(result.error.message);
			else if (await nodeClient(after).exists(`session:${p}${n}`)) {
				firstOk = performance.now();
				break;
			}
			n += 1;
			await sleep(25);
		}
		expect(firstOk).toBeGreaterThan(0);
		expect(errors.filter((e) => /READONLY/.test(e))).toEqual([]);
		// +switch-master moves the clients at once; without it they stay on the demoted master
		// (measured: 10.5 s until the first write landed on the new master).
		expect(firstOk - switchedAt).toBeLessThan(4000);
		console.log(
			`Sentinel graceful failover: first node write on the new master ${Math.round(firstOk - started)} ms after SENTINEL FAILOVER, ${errors.length} failed writes`,
		);
	});
});
