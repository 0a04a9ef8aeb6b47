import { createServer, connect, type Server, type Socket } from 'node:net';

import { ConnectionPool } from '../../platform/connection-pool';
import { KeySchema } from '../../platform/keys';
import { appendUpdate, updateEntryFields, UpdateStreamReader } from '../../platform/updates';
import { ResilientSubscriber, type PubSubMessage } from '../../platform/subscriber';
import { closeRawClients, rawClient, testConfig, testServer, uniquePrefix } from '../helpers/redis';
import { captureLogger, waitForSubscribers } from '../helpers/trigger';

/**
 * A TCP proxy in front of the test server that can silently drop all traffic without closing
 * any socket: the network path dies, but nothing tells the client. Only the subscriber's
 * heartbeat can notice.
 */
class BlackholeProxy {
	private server: Server | undefined;

	private readonly sockets = new Set<Socket>();

	blackholed = false;

	port = 0;

	async start(targetPort: number): Promise<void> {
		this.server = createServer((downstream) => {
			const upstream = connect(targetPort, '127.0.0.1');
			for (const s of [downstream, upstream]) {
				this.sockets.add(s);
				s.on('close', () => this.sockets.delete(s));
				s.on('error', () => undefined);
			}
			downstream.on('data', (chunk) => !this.blackholed && upstream.write(chunk));
			upstream.on('data', (chunk) => !this.blackholed && downstream.write(chunk));
			downstream.on('close', () => upstream.destroy());
			upstream.on('close', () => downstream.destroy());
		});
		await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
		const address = this.server.address();
		this.port = typeof address === 'object' && address ? address.port : 0;
	}

	async stop(): Promise<void> {
		for (const s of this.sockets) s.destroy();
		await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
	}
}

const publisher = rawClient();
const proxy = new BlackholeProxy();
const pool = new ConnectionPool();

beforeAll(async () => {
	await proxy.start(testServer().port);
});

afterAll(async () => {
	await pool.closeAll();
	await proxy.stop();
	await closeRawClients();
});

it('notices a silently dead network path through its PING heartbeat and recovers', async () => {
	const channel = uniquePrefix('silent');
	const received: PubSubMessage[] = [];
	const logger = captureLogger();
	const subscriber = new ResilientSubscriber(testConfig({ port: proxy.port, connectTimeoutMs: 500 }), {
		channels: [channel],
		patterns: [],
		giveUpAfterMs: 30_000,
		heartbeatMs: 300,
		pool,
		logger,
		onMessage: (m) => received.push(m),
		onGiveUp: () => undefined,
	});
	await subscriber.start();
	try {
		await waitForSubscribers(publisher, channel);
		proxy.blackholed = true;
		const cutAt = Date.now();
		// Published while the path is dead: lost, as pub/sub always loses such messages.
		await publisher.publish(channel, '{"lost":true}');
		while (!logger.lines.some((l) => l.message.includes('did not answer a PING'))) {
			if (Date.now() - cutAt > 10_000) throw new Error('the heartbeat never noticed the dead path');
			await new Promise((resolve) => setTimeout(resolve, 20));
		}
		const noticedMs = Date.now() - cutAt;
		await new Promise((resolve) => setTimeout(resolve, 500));
		proxy.blackholed = false;
		const healedAt = Date.now();
		for (let seq = 0; received.length === 0; seq++) {
			if (Date.now() - healedAt > 15_000) throw new Error('no message after the path came back');
			await publisher.publish(channel, JSON.stringify({ seq }));
			await new Promise((resolve) => setTimeout(resolve, 20));
		}
		console.log(
			`[silent drop] heartbeat noticed the dead path after ${noticedMs} ms; ` +
				`messages flowed again ${Date.now() - healedAt} ms after the path came back`,
		);
		expect(received.map((m) => m.payload)).not.toContain('{"lost":true}');
		expect(subscriber.stats.recoveries).toBeGreaterThanOrEqual(1);
	} finally {
		await subscriber.stop();
	}
});

it('durable reader: a blocking read that never answers counts as a dead path; updates are delivered after it heals', async () => {
	const channel = uniquePrefix('silent-stream');
	const key = new KeySchema().updatesStream(channel);
	const handled: string[] = [];
	const logger = captureLogger();
	const reader = new UpdateStreamReader(testConfig({ port: proxy.port, connectTimeoutMs: 500 }), {
		streams: [{ key, channel }],
		group: 'n8n',
		consumer: 'c1',
		newGroupStartsAt: '$',
		blockMs: 200,
		replyGraceMs: 300,
		giveUpAfterMs: 30_000,
		pool,
		logger,
		handle: (entry) => void handled.push(entry.fields.message),
		onGiveUp: () => undefined,
	});
	await reader.start();
	try {
		proxy.blackholed = true;
		// Written straight to Redis while the reader's path is dead: it waits in the stream.
		await appendUpdate(publisher, key, updateEntryFields(channel, '{"during":true}'));
		const cutAt = Date.now();
		while (!logger.lines.some((l) => l.message.includes('no reply from Redis'))) {
			if (Date.now() - cutAt > 10_000) throw new Error('the dead path was never noticed');
			await new Promise((resolve) => setTimeout(resolve, 20));
		}
		proxy.blackholed = false;
		await appendUpdate(publisher, key, updateEntryFields(channel, '{"after":true}'));
		const healedAt = Date.now();
		while (handled.length < 2) {
			if (Date.now() - healedAt > 15_000) throw new Error(`only ${handled.length} updates after the path came back`);
			await new Promise((resolve) => setTimeout(resolve, 20));
		}
		expect(handled).toEqual(['{"during":true}', '{"after":true}']);
	} finally {
		await reader.stop();
		await publisher.unlink(key);
	}
});
