/**
 * 6. Resources over 10,000 single-item executions of our node (Set Session, Get Session and
 *    Check Rate Limit in turn): client connections as the server counts them (INFO clients,
 *    and total_connections_received for connections opened) and this process's RSS and heap
 *    after GC, sampled every tenth of the run. Baseline A's connection churn is shown for
 *    comparison over a shorter run.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { BenchWorkflow, BASELINE_NODE, OUR_NODE } from '../lib/n8n-runner';
import type { BenchServer } from '../lib/server';
import { available, benchItems } from './batch';
import { fmtMb } from '../lib/stats';
import type { Section } from '../lib/report';
import type { Redis } from '../../platform/redis-driver';

function gcFunction(): () => void {
	setFlagsFromString('--expose-gc');
	return runInNewContext('gc') as () => void;
}

async function serverClients(monitor: Redis): Promise<{ connected: number; opened: number }> {
	const info = await monitor.info('all');
	const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? Number.NaN);
	// The monitor's own connection is not ours.
	return { connected: field('connected_clients') - 1, opened: field('total_connections_received') };
}

export interface ResourceSample {
	executions: number;
	connected: number;
	rssBytes: number;
	heapBytes: number;
}

export interface ResourceFigures {
	executions: number;
	samples: ResourceSample[];
	openedByOurs: number;
	baselineExecutions: number;
	openedByBaseline: number;
	connectionsFlat: boolean;
	heapGrowthBytes: number;
	rssGrowthBytes: number;
	bounded: boolean;
}

export async function runResourceSuite(
	server: BenchServer,
	options: { executions: number; baselineExecutions: number },
): Promise<ResourceFigures> {
	const gc = gcFunction();
	const credentials = server.credentials() as never;
	const items = benchItems(1);
	const flows = [
		{ resource: 'session', operation: 'set', parameters: { resource: 'session', operation: 'set', sessionId: '={{ $json.id }}', data: '={{ $json.data }}', ttl: 3600 } },
		{ resource: 'session', operation: 'get', parameters: { resource: 'session', operation: 'get', sessionId: '={{ $json.id }}' } },
		{
			resource: 'rateLimit',
			operation: 'check',
			parameters: { resource: 'rateLimit', operation: 'check', limitKey: '={{ $json.user }}', maxRequests: 1_000_000, windowSeconds: 10 },
		},
	]
		.filter((f) => available(f.resource, f.operation))
		.map((f) => new BenchWorkflow({ nodeType: OUR_NODE, parameters: f.parameters, items, credentials }));
	const monitor = server.raw(0);
	try {
		// One execution of each first: the pool opens its clients, which then stay.
		for (const flow of flows) await flow.runChecked(1);
		const take = async (executions: number): Promise<ResourceSample> => {
			gc();
			const { connected } = await serverClients(monitor);
			const mem = process.memoryUsage();
			return { executions, connected, rssBytes: mem.rss, heapBytes: mem.heapUsed };
		};
		const samples: ResourceSample[] = [await take(0)];
		const openedBefore = (await serverClients(monitor)).opened;
		const every = Math.max(1, Math.floor(options.executions / 10));
		for (let i = 1; i <= options.executions; i++) {
			await flows[i % flows.length].runChecked(1);
			if (i % every === 0) samples.push(await take(i));
		}
		const openedByOurs = (await serverClients(monitor)).opened - openedBefore;

		const baseline = new BenchWorkflow({
			nodeType: BASELINE_NODE,
			parameters: { operation: 'set', database: 0, key: '={{ "session:" + $json.id }}', value: '={{ JSON.stringify($json.data) }}', expire: true, ttl: 3600 },
			items,
			credentials,
		});
		const baseBefore = (await serverClients(monitor)).opened;
		for (let i = 0; i < options.baselineExecutions; i++) await baseline.runChecked(1);
		const openedByBaseline = (await serverClients(monitor)).opened - baseBefore;

		const first = samples[1] ?? samples[0];
		const last = samples[samples.length - 1];
		const connectionsFlat = samples.every((s) => s.connected === samples[0].connected) && openedByOurs === 0;
		const heapGrowthBytes = last.heapBytes - first.heapBytes;
		const rssGrowthBytes = last.rssBytes - first.rssBytes;
		return {
			executions: options.executions,
			samples,
			openedByOurs,
			baselineExecutions: options.baselineExecutions,
			openedByBaseline,
			connectionsFlat,
			heapGrowthBytes,
			rssGrowthBytes,
			// Bounded: after the first tenth (JIT, pools, caches warm), the heap after GC grows by
			// less than 8 MB and RSS by less than 64 MB over the remaining executions.
			bounded: heapGrowthBytes < 8 * 1024 * 1024 && rssGrowthBytes < 64 * 1024 * 1024,
		};
	} finally {
		await monitor.quit();
	}
}

export function resourceSection(f: ResourceFigures): Section {
	const first = f.samples[0];
	const last = f.samples[f.samples.length - 1];
	return {
		title: '6. Resources over 10,000 executions',
		intro: `${f.executions.toLocaleString('en-US')} single-item executions of our node (Set Session, Get Session, Check Rate Limit in turn), with the connection pool warm; connections as the server counts them, memory of this process after a forced GC.`,
		head: ['Executions', 'Server connections', 'RSS', 'Heap used (after GC)'],
		rows: f.samples.map((s) => [s.executions.toLocaleString('en-US'), String(s.connected), fmtMb(s.rssBytes), fmtMb(s.heapBytes)]),
		notes: [
			`Connections opened during the run: ours ${f.openedByOurs} over ${f.executions.toLocaleString('en-US')} executions; Baseline A ${f.openedByBaseline.toLocaleString('en-US')} over ${f.baselineExecutions.toLocaleString('en-US')} executions (one per execution).`,
			`Connections ${f.connectionsFlat ? 'stayed flat' : 'did NOT stay flat'} (${first.connected} -> ${last.connected}).`,
			`After the first tenth: heap after GC ${f.heapGrowthBytes >= 0 ? '+' : ''}${fmtMb(f.heapGrowthBytes)}, RSS ${f.rssGrowthBytes >= 0 ? '+' : ''}${fmtMb(f.rssGrowthBytes)} (bounded means under +8 MB heap and +64 MB RSS): ${f.bounded ? 'bounded' : 'NOT bounded'}.`,
		],
	};
}
