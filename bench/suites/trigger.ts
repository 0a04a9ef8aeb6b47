/**
 * 3. Trigger latency, publish -> emit, through the real trigger node under n8n-core's
 *    TriggerContext (test/helpers/trigger.ts startTrigger, shared with the tests). The publisher
 *    runs in the same process and stamps each message with performance.now(); the emit
 *    callback stamps its arrival. Messages are paced at about one per millisecond (open loop),
 *    so the figures are latency at a steady load, not the queueing delay of a burst.
 */
import { randomBytes } from 'node:crypto';
import type { IDataObject } from 'n8n-workflow';

import { KeySchema } from '../../platform/keys';
import { appendUpdate, updateEntryFields, UPDATE_STREAM_ROLE } from '../../platform/updates';
import { DEFAULT_DBS } from '../../platform/config';
import { startTrigger, waitForSubscribers } from '../../test/helpers/trigger';
import { measureTriggerLatency } from '../../test/helpers/trigger-latency';
import { loadMarketingRedisTrigger } from '../lib/nodes';
import type { BenchServer } from '../lib/server';
import { fmtMs, percentileSorted } from '../lib/stats';
import type { Section } from '../lib/report';

export interface LatencyResult {
	mode: string;
	messages: number;
	received: number;
	p50: number;
	p99: number;
	max: number;
	seconds: number;
	/** Messages per second of a pipelined burst (closed-loop rows only). */
	burstPerSec?: number;
	/** Which targets this row decides. */
	paced: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function seqOf(json: IDataObject): number | undefined {
	const message = json.message as IDataObject | undefined;
	return typeof message?.seq === 'number' ? message.seq : undefined;
}

async function measure(
	server: BenchServer,
	mode: 'pubsub' | 'stream',
	messages: number,
	perTick: number,
): Promise<LatencyResult> {
	const channel = `bench_updates_${randomBytes(4).toString('hex')}`;
	const keys = new KeySchema('');
	const streamKey = keys.updatesStream(channel);
	const publisher = server.raw(DEFAULT_DBS[UPDATE_STREAM_ROLE]);
	const Trigger = loadMarketingRedisTrigger();
	const trigger = await startTrigger({
		parameters: { event: mode === 'pubsub' ? 'contentUpdatePubSub' : 'contentUpdateStream', channels: channel },
		credentials: server.credentials() as never,
		workflowId: `bench-${mode}-${channel}`,
		nodeType: new Trigger(),
	});
	const send = (seq: number) => {
		const body = JSON.stringify({ seq, draft_id: seq, status: 'approved' });
		if (mode === 'pubsub') void publisher.publish(channel, body);
		else void appendUpdate(publisher, streamKey, updateEntryFields(channel, body));
	};
	try {
		if (mode === 'pubsub') await waitForSubscribers(publisher, channel);
		// Warm up until the trigger demonstrably receives (the stream group is created by then).
		for (let tries = 0; trigger.emitted.length === 0; tries++) {
			if (tries > 200) throw new Error(`${mode} trigger never emitted`);
			send(-1);
			await sleep(25);
		}
		await sleep(50);
		const sentAt = new Float64Array(messages);
		const latencies: number[] = [];
		let received = 0;
		trigger.onEmit = (json, at) => {
			const seq = seqOf(json);
			if (seq === undefined || seq < 0) return;
			latencies.push(at - sentAt[seq]);
			received += 1;
		};
		const start = performance.now();
		for (let seq = 0; seq < messages; ) {
			for (let k = 0; k < perTick && seq < messages; k++, seq++) {
				sentAt[seq] = performance.now();
				send(seq);
			}
			await sleep(1);
		}
		const deadline = Date.now() + 10_000;
		while (received < messages && Date.now() < deadline) await sleep(10);
		const seconds = (performance.now() - start) / 1000;
		if (trigger.errors.length > 0) throw new Error(`${mode} trigger reported: ${trigger.errors[0].message}`);
		if (received < messages) throw new Error(`${mode} trigger emitted ${received} of ${messages} messages`);
		const sorted = latencies.sort((a, b) => a - b);
		return {
			mode: mode === 'pubsub' ? 'Content Update (Pub/Sub)' : 'Content Update (Durable Stream)',
			messages,
			received,
			p50: percentileSorted(sorted, 50),
			p99: percentileSorted(sorted, 99),
			max: sorted[sorted.length - 1],
			seconds,
			paced: true,
		};
	} finally {
		await trigger.close();
		await publisher.unlink(streamKey).catch(() => undefined);
		await publisher.quit();
	}
}

/**
 * The floor of this machine: the same publisher and pacing, received by a bare ioredis
 * subscriber (SUBSCRIBE) or reader (XREAD BLOCK) with no n8n and no trigger. What the trigger
 * adds is the difference; the tail of both is mostly the scheduling noise of a busy machine.
 */
async function measureRaw(server: BenchServer, mode: 'pubsub' | 'stream', messages: number, perTick: number): Promise<LatencyResult> {
	const channel = `bench_raw_${randomBytes(4).toString('hex')}`;
	const streamKey = new KeySchema('').updatesStream(channel);
	const db = DEFAULT_DBS[UPDATE_STREAM_ROLE];
	const publisher = server.raw(db);
	const reader = server.raw(db);
	const sentAt = new Float64Array(messages);
	const latencies: number[] = [];
	let stopped = false;
	const arrived = (body: string) => {
		const at = performance.now();
		const seq = (JSON.parse(body) as { seq: number }).seq;
		if (seq >= 0) latencies.push(at - sentAt[seq]);
	};
	let loop: Promise<void> = Promise.resolve();
	if (mode === 'pubsub') {
		reader.on('message', (_channel: string, body: string) => arrived(body));
		await reader.subscribe(channel);
	} else {
		await publisher.xadd(streamKey, '*', 'message', '{"seq":-1}');
		loop = (async () => {
			let last = '$';
			while (!stopped) {
				const reply = (await reader.xread('COUNT', 100, 'BLOCK', 200, 'STREAMS', streamKey, last)) as
					| Array<[string, Array<[string, string[]]>]>
					| null;
				for (const [, entries] of reply ?? []) {
					for (const [id, fields] of entries) {
						last = id;
						arrived(fields[1]);
					}
				}
			}
		})();
	}
	try {
		await sleep(50);
		const start = performance.now();
		for (let seq = 0; seq < messages; ) {
			for (let k = 0; k < perTick && seq < messages; k++, seq++) {
				sentAt[seq] = performance.now();
				const body = JSON.stringify({ seq, draft_id: seq, status: 'approved' });
				if (mode === 'pubsub') void publisher.publish(channel, body);
				else void publisher.xadd(streamKey, 'MAXLEN', '~', 10_000, '*', 'message', body);
			}
			await sleep(1);
		}
		const deadline = Date.now() + 10_000;
		while (latencies.length < messages && Date.now() < deadline) await sleep(10);
		const seconds = (performance.now() - start) / 1000;
		const sorted = latencies.sort((a, b) => a - b);
		return {
			mode: mode === 'pubsub' ? 'floor: bare ioredis SUBSCRIBE' : 'floor: bare ioredis XREAD BLOCK',
			messages,
			received: sorted.length,
			p50: percentileSorted(sorted, 50),
			p99: percentileSorted(sorted, 99),
			max: sorted[sorted.length - 1],
			seconds,
			paced: false,
		};
	} finally {
		stopped = true;
		await loop.catch(() => undefined);
		reader.disconnect();
		await publisher.unlink(streamKey).catch(() => undefined);
		await publisher.quit();
	}
}

/** The trigger helper's own measurement (test/helpers/trigger-latency.ts): one message in flight, then a burst. */
async function closedLoop(server: BenchServer, mode: 'pubsub' | 'stream', messages: number): Promise<LatencyResult> {
	const r = await measureTriggerLatency({ credentials: server.credentials(), mode, messages });
	if (r.lost > 0) throw new Error(`${mode} trigger lost ${r.lost} of ${messages} messages`);
	return {
		mode: `${mode === 'pubsub' ? 'Pub/Sub' : 'Durable Stream'}, one message in flight`,
		messages,
		received: messages,
		p50: r.p50Ms,
		p99: r.p99Ms,
		max: r.maxMs,
		seconds: Number.NaN,
		burstPerSec: r.messagesPerSecond,
		paced: false,
	};
}

export async function runTriggerSuite(server: BenchServer, messages: number): Promise<LatencyResult[]> {
	return [
		await measure(server, 'pubsub', messages, 1),
		await measureRaw(server, 'pubsub', messages, 1),
		await closedLoop(server, 'pubsub', messages),
		await measure(server, 'stream', messages, 1),
		await measureRaw(server, 'stream', messages, 1),
		await closedLoop(server, 'stream', messages),
	];
}

export function triggerSection(results: LatencyResult[], skipped?: string): Section {
	return {
		title: '3. Trigger latency, publish to emit',
		intro:
			'The Marketing Redis Trigger runs under n8n-core\'s `TriggerContext` (as an active workflow); a publisher in the same process sends one message per millisecond tick and the latency is taken from just before PUBLISH (or XADD) to the trigger\'s `emit`. The durable stream mode acknowledges each entry when its execution finishes (the default), one execution at a time.',
		head: ['Mode', 'Messages', 'p50', 'p99', 'max', 'Rate'],
		rows: results.map((r) => [
			r.mode,
			r.messages.toLocaleString('en-US'),
			fmtMs(r.p50),
			fmtMs(r.p99),
			fmtMs(r.max),
			r.burstPerSec !== undefined
				? `burst ${Math.round(r.burstPerSec).toLocaleString('en-US')} msg/s`
				: `paced ${Math.round(r.messages / r.seconds).toLocaleString('en-US')} msg/s`,
		]),
		notes: [
			'"One message in flight" rows come from test/helpers/trigger-latency.ts (the trigger\'s own helper): each message is published after the previous one was emitted, so there is no queueing; its burst rate pipelines all messages at once.',
			'The "floor" rows send the same messages at the same pace to a bare ioredis client in the same process, with no n8n and no trigger: what the trigger adds is the difference from its floor, and the tail of both is mostly scheduling noise of the shared 2-core machine.',
			...(skipped ? [`Not measured: ${skipped}.`] : []),
		],
	};
}
