/**
 * Publish -> emit latency of the MarketingRedisTrigger, in both delivery modes, for the bench.
 *
 *   import { measureTriggerLatency } from '../test/helpers/trigger-latency';
 *   const result = await measureTriggerLatency({ credentials, mode: 'pubsub', messages: 10_000 });
 *
 * or standalone against its own redis-server: `npx tsx test/helpers/trigger-latency.ts [messages]`.
 *
 * Two phases per mode, each over `messages` messages:
 * - latency: one message at a time (publish, wait for its emit): p50/p99/max without queueing;
 * - throughput: all messages pipelined at once; messages/s from the first publish to the last emit.
 * The trigger runs on n8n-core's TriggerContext (see ./trigger.ts); emit is where n8n would
 * start an execution, so the figures cover Redis, the driver, parsing, filters and emit.
 */
import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';

import { sharedPool } from '../../platform/connection-pool';
import { KeySchema } from '../../platform/keys';
import { appendUpdate, updateEntryFields } from '../../platform/updates';
import { parseRedisUrl, startRedisServer } from './redis-server';
import { startTrigger, waitForSubscribers } from './trigger';

export type LatencyMode = 'pubsub' | 'stream';

export interface LatencyOptions {
	/** Credential data (as the credential form stores it) of the server to measure against. */
	credentials: Record<string, unknown>;
	mode: LatencyMode;
	messages?: number;
}

export interface LatencyResult {
	mode: LatencyMode;
	messages: number;
	p50Ms: number;
	p99Ms: number;
	maxMs: number;
	meanMs: number;
	/** Pipelined burst: messages emitted per second. */
	messagesPerSecond: number;
	/** Messages published but never emitted (should be 0). */
	lost: number;
}

function percentile(sorted: number[], p: number): number {
	const rank = Math.ceil((p / 100) * sorted.length);
	return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

const round = (n: number) => Math.round(n * 1000) / 1000;

export async function measureTriggerLatency(options: LatencyOptions): Promise<LatencyResult> {
	const messages = options.messages ?? 10_000;
	const channel = `bench_updates_${randomBytes(4).toString('hex')}`;
	const stream = new KeySchema(String(options.credentials.keyPrefix ?? '')).updatesStream(channel);
	const publisher = new Redis({
		host: String(options.credentials.host),
		port: Number(options.credentials.port),
		username: options.credentials.user ? String(options.credentials.user) : undefined,
		password: options.credentials.password ? String(options.credentials.password) : undefined,
		db: Number(options.credentials.defaultDb ?? 0),
	});
	const trigger = await startTrigger({
		parameters:
			options.mode === 'pubsub'
				? { event: 'contentUpdatePubSub', channels: channel }
				: { event: 'contentUpdateStream', channels: channel },
		credentials: options.credentials as never,
		workflowId: `bench-${channel}`,
	});
	try {
		if (options.mode === 'pubsub') await waitForSubscribers(publisher, channel);
		const send = (client: Redis | ReturnType<Redis['pipeline']>, seq: number, phase: string) => {
			const payload = JSON.stringify({ seq, phase, draft_id: seq, status: 'approved' });
			if (options.mode === 'pubsub') return client.publish(channel, payload);
			return appendUpdate(client as Redis, stream, updateEntryFields(channel, payload));
		};

		// Phase 1: one at a time.
		const latencies: number[] = [];
		let waiting: ((at: number) => void) | undefined;
		let expected = -1;
		trigger.onEmit = (json, at) => {
			const message = json.message as { seq?: number; phase?: string } | undefined;
			if (message?.phase === 'latency' && message.seq === expected) waiting?.(at);
		};
		for (let seq = 0; seq < messages; seq++) {
			const emitted = new Promise<number>((resolve) => {
				waiting = resolve;
			});
			expected = seq;
			const sentAt = performance.now();
			await send(publisher, seq, 'latency');
			const at = await Promise.race([emitted, new Promise<number>((r) => setTimeout(() => r(Number.NaN), 5000))]);
			if (!Number.isNaN(at)) latencies.push(at - sentAt);
		}
		waiting = undefined;

		// Phase 2: a pipelined burst.
		const before = trigger.emitted.length;
		const pipeline = publisher.pipeline();
		for (let seq = 0; seq < messages; seq++) send(pipeline, seq, 'burst');
		const burstStart = performance.now();
		await pipeline.exec();
		await trigger.waitFor(before + messages, 120_000).catch(() => undefined);
		const burstEnd = trigger.emittedAt[trigger.emittedAt.length - 1] ?? performance.now();
		const burstEmitted = trigger.emitted.length - before;

		const sorted = [...latencies].sort((a, b) => a - b);
		return {
			mode: options.mode,
			messages,
			p50Ms: round(percentile(sorted, 50)),
			p99Ms: round(percentile(sorted, 99)),
			maxMs: round(sorted[sorted.length - 1] ?? Number.NaN),
			meanMs: round(sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length)),
			messagesPerSecond: Math.round(burstEmitted / ((burstEnd - burstStart) / 1000)),
			lost: messages - latencies.length + (messages - burstEmitted),
		};
	} finally {
		trigger.onEmit = undefined;
		await trigger.close();
		if (options.mode === 'stream') await publisher.unlink(stream).catch(() => undefined);
		publisher.disconnect();
	}
}

async function main(): Promise<void> {
	const messages = Number(process.argv[2] ?? 10_000);
	const external = process.env.REDIS_URL;
	const server = external ? undefined : await startRedisServer();
	const parts = parseRedisUrl(external ?? server!.url);
	const credentials = {
		mode: 'standalone',
		host: parts.host,
		port: parts.port,
		user: parts.username ?? '',
		password: parts.password ?? '',
		tls: parts.tls,
		defaultDb: 0,
		keyPrefix: '',
	};
	try {
		for (const mode of ['pubsub', 'stream'] as const) {
			const r = await measureTriggerLatency({ credentials, mode, messages });
			console.log(
				`${mode.padEnd(6)} ${r.messages} msgs: p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, max ${r.maxMs} ms, ` +
					`mean ${r.meanMs} ms; burst ${r.messagesPerSecond} msg/s; lost ${r.lost}`,
			);
		}
	} finally {
		await sharedPool.closeAll();
		if (server) {
			await server.stop();
			server.cleanup();
		}
	}
}

if (require.main === module) {
	main().then(
		() => process.exit(0),
		(error: unknown) => {
			console.error(error);
			process.exit(1);
		},
	);
}
