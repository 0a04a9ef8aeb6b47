/**
 * Real Sentinel and Cluster topologies on loopback, built from Debian's redis-server,
 * redis-sentinel and redis-cli. Each process gets its own temp dir and free port; the
 * caller tears everything down with `stop()` in afterAll.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

import { credentialForm } from './redis';
import { freePort, startRedisServer, type RedisServerHandle } from './redis-server';

const HOST = '127.0.0.1';

function cli(port: number, password: string | undefined, args: string[], timeout = 5000) {
	const auth = password ? ['--no-auth-warning', '-a', password] : [];
	return spawnSync('redis-cli', ['-h', HOST, '-p', String(port), ...auth, ...args], { encoding: 'utf8', timeout });
}

async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		if (check()) return;
		await new Promise((r) => setTimeout(r, 100));
	}
	throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
}

// ---------------------------------------------------------------------------------------------
// Sentinel: one master, one replica, three sentinels.

export interface SentinelProcess {
	port: number;
	pid: number;
	dir: string;
	kill(): Promise<void>;
}

export interface SentinelTopology {
	masterName: string;
	/** Password of the data nodes (requirepass + masterauth on both). */
	password: string;
	/** Password of the sentinels (their requirepass). */
	sentinelPassword: string;
	master: RedisServerHandle;
	replica: RedisServerHandle;
	sentinels: SentinelProcess[];
	/** `host:port, ...` for the credential's Sentinels field. */
	sentinelList: string;
	/** n8n credential data for this topology. */
	credentials(overrides?: Record<string, unknown>): Record<string, unknown>;
	/** Port of the current master, as the sentinels report it. */
	currentMasterPort(): number | undefined;
	/** Starts a killed data node again on its port; sentinels turn it into a replica. Stopped by stop(). */
	restart(node: RedisServerHandle): Promise<RedisServerHandle>;
	/** Waits until every sentinel reports a master other than `oldPort`; returns the new port. */
	waitForFailover(oldPort: number, timeoutMs?: number): Promise<number>;
	stop(): Promise<void>;
}

export interface SentinelTopologyOptions {
	masterName?: string;
	/** Sentinel `down-after-milliseconds`: how long a dead master goes unnoticed. */
	downAfterMs?: number;
	failoverTimeoutMs?: number;
}

async function startSentinel(
	port: number,
	masterName: string,
	masterPort: number,
	password: string,
	sentinelPassword: string,
	downAfterMs: number,
	failoverTimeoutMs: number,
): Promise<SentinelProcess> {
	const dir = mkdtempSync(join(tmpdir(), 'mredis-sentinel-'));
	const conf = join(dir, 'sentinel.conf');
	// Sentinel rewrites its config file at runtime, so it must live in a writable temp dir.
	writeFileSync(
		conf,
		[
			`port ${port}`,
			`bind ${HOST}`,
			`dir ${dir}`,
			'daemonize no',
			'logfile ""',
			`requirepass ${sentinelPassword}`,
			`sentinel monitor ${masterName} ${HOST} ${masterPort} 2`,
			`sentinel auth-pass ${masterName} ${password}`,
			`sentinel down-after-milliseconds ${masterName} ${downAfterMs}`,
			`sentinel failover-timeout ${masterName} ${failoverTimeoutMs}`,
			`sentinel parallel-syncs ${masterName} 1`,
			'',
		].join('\n'),
	);
	const child: ChildProcess = spawn('redis-sentinel', [conf], { stdio: ['ignore', 'pipe', 'pipe'] });
	let output = '';
	child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
	child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
	await waitFor(
		`sentinel on port ${port}`,
		() => {
			if (child.exitCode !== null) throw new Error(`redis-sentinel exited early:\n${output}`);
			return cli(port, sentinelPassword, ['PING'], 1000).stdout.trim() === 'PONG';
		},
		10_000,
	);
	const exited = () =>
		new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));
	return {
		port,
		pid: child.pid ?? 0,
		dir,
		async kill() {
			child.kill('SIGKILL');
			await exited();
			rmSync(dir, { recursive: true, force: true });
		},
	};
}

/** Reads one field of `SENTINEL MASTER <name>` from one sentinel. */
function sentinelMasterField(port: number, password: string, masterName: string, field: string): string | undefined {
	const lines = cli(port, password, ['SENTINEL', 'MASTER', masterName], 1000).stdout.split('\n').map((l) => l.trim());
	const at = lines.indexOf(field);
	return at >= 0 ? lines[at + 1] : undefined;
}

export async function startSentinelTopology(options: SentinelTopologyOptions = {}): Promise<SentinelTopology> {
	const masterName = options.masterName ?? 'mymaster';
	const downAfterMs = options.downAfterMs ?? 1000;
	const failoverTimeoutMs = options.failoverTimeoutMs ?? 5000;
	const password = randomBytes(12).toString('hex');
	const sentinelPassword = randomBytes(12).toString('hex');
	// masterauth on both data nodes: after a failover either may be the replica of the other.
	const common = ['--masterauth', password, '--appendonly', 'no', '--save', '', '--bind', HOST];
	const started: Array<{ stop(): Promise<void> }> = [];
	try {
		const master = await startRedisServer({ noConf: true, password, args: common });
		started.push({ stop: async () => (await master.kill(), master.cleanup()) });
		const replica = await startRedisServer({
			noConf: true,
			password,
			args: [...common, '--replicaof', HOST, String(master.port)],
		});
		started.push({ stop: async () => (await replica.kill(), replica.cleanup()) });
		await waitFor(
			'the replica to finish its first sync',
			() => /master_link_status:up/.test(cli(replica.port, password, ['INFO', 'replication'], 1000).stdout),
			15_000,
		);
		const sentinels: SentinelProcess[] = [];
		for (let i = 0; i < 3; i++) {
			const s = await startSentinel(
				await freePort(),
				masterName,
				master.port,
				password,
				sentinelPassword,
				downAfterMs,
				failoverTimeoutMs,
			);
			sentinels.push(s);
			started.push({ stop: () => s.kill() });
		}
		// A failover needs every sentinel to know the replica and a quorum of its peers
		// (peers are found through hello messages every 2 s).
		await waitFor(
			'sentinels to discover the replica and each other',
			() =>
				sentinels.every(
					(s) =>
						Number(sentinelMasterField(s.port, sentinelPassword, masterName, 'num-slaves')) >= 1 &&
						Number(sentinelMasterField(s.port, sentinelPassword, masterName, 'num-other-sentinels')) >= 2,
				),
			20_000,
		);
		const sentinelList = sentinels.map((s) => `${HOST}:${s.port}`).join(', ');
		const topology: SentinelTopology = {
			masterName,
			password,
			sentinelPassword,
			master,
			replica,
			sentinels,
			sentinelList,
			credentials: (overrides = {}) =>
				credentialForm({ mode: 'sentinel', sentinels: sentinelList, masterName, sentinelPassword, password, ...overrides }),
			currentMasterPort() {
				for (const s of sentinels) {
					const out = cli(s.port, sentinelPassword, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName], 1000)
						.stdout.trim()
						.split('\n');
					if (out.length >= 2 && Number(out[1]) > 0) return Number(out[1]);
				}
				return undefined;
			},
			async waitForFailover(oldPort, timeoutMs = 30_000) {
				let port: number | undefined;
				await waitFor(
					'the sentinels to promote a new master',
					() => {
						const ports = sentinels.map((s) => {
							const out = cli(s.port, sentinelPassword, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName], 1000)
								.stdout.trim()
								.split('\n');
							return Number(out[1]);
						});
						port = ports[0];
						return ports.every((p) => p > 0 && p !== oldPort && p === ports[0]);
					},
					timeoutMs,
				);
				return port as number;
			},
			async restart(node) {
				const again = await node.restart();
				started.push({ stop: async () => (await again.kill(), again.cleanup()) });
				return again;
			},
			async stop() {
				for (const s of started.splice(0).reverse()) await s.stop().catch(() => undefined);
			},
		};
		return topology;
	} catch (error) {
		for (const s of started.reverse()) await s.stop().catch(() => undefined);
		throw error;
	}
}

// ---------------------------------------------------------------------------------------------
// Cluster: three masters, no replicas, made with `redis-cli --cluster create`.

export interface ClusterTopology {
	password: string;
	nodes: RedisServerHandle[];
	/** `host:port, ...` for the credential's Cluster Nodes field. */
	nodeList: string;
	credentials(overrides?: Record<string, unknown>): Record<string, unknown>;
	stop(): Promise<void>;
}

export async function startClusterTopology(masters = 3): Promise<ClusterTopology> {
	const password = randomBytes(12).toString('hex');
	const nodes: RedisServerHandle[] = [];
	const stop = async () => {
		for (const n of nodes.splice(0)) {
			await n.kill().catch(() => undefined);
			n.cleanup();
		}
	};
	try {
		for (let i = 0; i < masters; i++) {
			const dir = mkdtempSync(join(tmpdir(), 'mredis-cluster-'));
			const port = await freePort();
			nodes.push(
				await startRedisServer({
					noConf: true,
					port,
					dir,
					password,
					args: [
						'--cluster-enabled',
						'yes',
						'--cluster-config-file',
						join(dir, 'nodes.conf'),
						'--cluster-node-timeout',
						'2000',
						'--masterauth',
						password,
						'--appendonly',
						'no',
						'--save',
						'',
						'--bind',
						HOST,
					],
				}),
			);
		}
		const create = cli(
			nodes[0].port,
			password,
			['--cluster', 'create', ...nodes.map((n) => `${HOST}:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'],
			30_000,
		);
		if (create.status !== 0) throw new Error(`redis-cli --cluster create failed:\n${create.stdout}\n${create.stderr}`);
		await waitFor(
			'cluster_state:ok on every node',
			() =>
				nodes.every((n) => {
					const info = cli(n.port, password, ['CLUSTER', 'INFO'], 1000).stdout;
					return /cluster_state:ok/.test(info) && new RegExp(`cluster_known_nodes:${masters}\\b`).test(info);
				}),
			20_000,
		);
		const nodeList = nodes.map((n) => `${HOST}:${n.port}`).join(', ');
		return {
			password,
			nodes,
			nodeList,
			credentials: (overrides = {}) => credentialForm({ mode: 'cluster', clusterNodes: nodeList, password, ...overrides }),
			stop,
		};
	} catch (error) {
		await stop();
		throw error;
	}
}
