import { spawn } from 'node:child_process';

import { median } from './stats';
import type { BenchServer } from './server';

/** The physical limit on this machine: redis-benchmark with 16 commands pipelined per client. */
export interface Limit {
	set: number;
	get: number;
	requests: number;
	command: string;
}

function runOnce(server: BenchServer, requests: number): Promise<{ set: number; get: number }> {
	const args = ['-h', server.host, '-p', String(server.port), '-P', '16', '-t', 'set,get', '-q', '--csv', '-n', String(requests)];
	if (server.username) args.push('--user', server.username);
	if (server.password) args.push('-a', server.password);
	return new Promise((resolve, reject) => {
		const child = spawn('redis-benchmark', args, { stdio: ['ignore', 'pipe', 'pipe'] });
		let out = '';
		let err = '';
		child.stdout.on('data', (d: Buffer) => (out += d.toString()));
		child.stderr.on('data', (d: Buffer) => (err += d.toString()));
		child.on('error', reject);
		child.on('close', (code) => {
			const rate = (name: string) => Number(new RegExp(`^"${name}","([\\d.]+)"`, 'm').exec(out)?.[1] ?? Number.NaN);
			const result = { set: rate('SET'), get: rate('GET') };
			if (code !== 0 || !Number.isFinite(result.set) || !Number.isFinite(result.get)) {
				// The password is an argument; never echo redis-benchmark's output verbatim.
				const detail = (err || out).replace(server.password ?? '\u0000', '***').slice(0, 300);
				reject(new Error(`redis-benchmark failed (exit ${code}): ${detail}`));
				return;
			}
			resolve(result);
		});
	});
}

/**
 * `redis-benchmark -P 16 -t set,get -q` on one server: a probe of 20,000 requests, then (unless
 * `runs` is 0) -n sized so that each test runs for about `seconds`, the median of `runs` runs.
 * It writes the key "key:__rand_int__" in DB 0 and deletes it afterwards.
 */
export async function measureLimit(server: BenchServer, options: { seconds: number; runs: number }): Promise<Limit> {
	const probeRequests = 20_000;
	const probe = await runOnce(server, probeRequests);
	let requests = probeRequests;
	const sets: number[] = [probe.set];
	const gets: number[] = [probe.get];
	if (options.runs > 0) {
		requests = Math.min(5_000_000, Math.max(probeRequests, Math.round((Math.min(probe.set, probe.get) * options.seconds) / 10_000) * 10_000));
		sets.length = 0;
		gets.length = 0;
		for (let i = 0; i < options.runs; i++) {
			const r = await runOnce(server, requests);
			sets.push(r.set);
			gets.push(r.get);
		}
	}
	const client = server.raw(0);
	await client.del('key:__rand_int__');
	await client.quit();
	return {
		set: median(sets),
		get: median(gets),
		requests,
		command: `redis-benchmark -P 16 -t set,get -q -n ${requests.toLocaleString('en-US')}`,
	};
}
