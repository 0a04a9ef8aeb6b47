// Who holds which connection to a Redis server: CLIENT LIST gives each client's address and name
// (the package names its clients n8n-marketing-redis:<purpose>:db<n>, but not per process), and the
// kernel's socket table (`ss -tnp`) tells which pid owns each local port. Pids are then attributed to
// the n8n process they descend from, so a task runner's connections would count for its n8n.
import { readFileSync } from 'node:fs';

import type Redis from 'ioredis';

import { runCommand } from '../../../scripts/lib/process';

export interface ProcessConnections {
	total: number;
	/** Connection count per client name ("(none)" when a client set no name). */
	byName: Record<string, number>;
}

function parentOf(pid: number): number | undefined {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
		return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
	} catch {
		return undefined;
	}
}

/** The label of the nearest ancestor (or the pid itself) found in `owners`. */
function ownerOf(pid: number, owners: Map<number, string>): string | undefined {
	for (let current: number | undefined = pid, hops = 0; current && current > 1 && hops < 20; hops++) {
		const label = owners.get(current);
		if (label) return label;
		current = parentOf(current);
	}
	return undefined;
}

/** Local port -> pid for every established TCP connection to `port` on loopback. */
async function portOwners(port: number): Promise<Map<number, number>> {
	const result = await runCommand('ss', ['-tnpH', 'state', 'established', `( dport = :${port} )`], { timeoutMs: 10_000 });
	if (result.code !== 0) throw new Error(`ss failed: ${result.stderr}`);
	const owners = new Map<number, number>();
	for (const line of result.stdout.split('\n')) {
		const local = line.match(/\s(\S+):(\d+)\s+\S+:\d+\s/);
		const pid = line.match(/pid=(\d+)/);
		if (local && pid) owners.set(Number(local[2]), Number(pid[1]));
	}
	return owners;
}

/**
 * Connections to the Redis at `port`, grouped by owning process label. Clients of unknown
 * processes count as "other"; a client that closed between the two reads is left out.
 */
export async function connectionsByProcess(
	redis: Redis,
	port: number,
	owners: Map<number, string>,
): Promise<Record<string, ProcessConnections>> {
	const list = (await redis.call('CLIENT', 'LIST')) as string;
	const ports = await portOwners(port);
	const out: Record<string, ProcessConnections> = {};
	for (const line of list.split('\n')) {
		const addr = line.match(/\baddr=\S+:(\d+)\b/);
		if (!addr) continue;
		const pid = ports.get(Number(addr[1]));
		if (pid === undefined) continue;
		const label = ownerOf(pid, owners) ?? 'other';
		const name = line.match(/\bname=(\S*)/)?.[1] || '(none)';
		const entry = (out[label] ??= { total: 0, byName: {} });
		entry.total++;
		entry.byName[name] = (entry.byName[name] ?? 0) + 1;
	}
	return out;
}

/** Keeps the highest count seen per process and per (process, name) over many samples. */
export class ConnectionPeaks {
	readonly peaks: Record<string, ProcessConnections> = {};

	samples = 0;

	add(sample: Record<string, ProcessConnections>): void {
		this.samples++;
		for (const [label, now] of Object.entries(sample)) {
			const peak = (this.peaks[label] ??= { total: 0, byName: {} });
			peak.total = Math.max(peak.total, now.total);
			for (const [name, count] of Object.entries(now.byName)) peak.byName[name] = Math.max(peak.byName[name] ?? 0, count);
		}
	}

	/** One line per process: "main 6 (subscriber:db0 1, ...)", names shortened to purpose:db. */
	describe(labels: string[]): string {
		return labels
			.map((label) => {
				const peak = this.peaks[label];
				if (!peak) return `${label} 0`;
				const names = Object.entries(peak.byName)
					.sort(([a], [b]) => a.localeCompare(b))
					.map(([name, count]) => `${name.replace(/^n8n-marketing-redis:/, '')} ${count}`);
				return `${label} ${peak.total} (${names.join(', ')})`;
			})
			.join('; ');
	}
}

/** Samples connections every `everyMs` until stopped; sampling errors are kept, not thrown mid-run. */
export function sampleConnections(
	redis: Redis,
	port: number,
	owners: () => Map<number, string>,
	everyMs = 1000,
): { peaks: ConnectionPeaks; stop(): Promise<string[]> } {
	const peaks = new ConnectionPeaks();
	const errors: string[] = [];
	let stopped = false;
	const loop = (async () => {
		while (!stopped) {
			try {
				peaks.add(await connectionsByProcess(redis, port, owners()));
			} catch (error) {
				errors.push((error as Error).message);
			}
			await new Promise((r) => setTimeout(r, everyMs));
		}
	})();
	return {
		peaks,
		async stop() {
			stopped = true;
			await loop;
			return errors;
		},
	};
}
