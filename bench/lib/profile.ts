import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';

/**
 * A CPU profile of one section, written as a .cpuprofile (open it in Chrome DevTools or
 * speedscope). `node --cpu-prof` writes its profile only at a clean process exit, which
 * n8n-core's shutdown handling does not always reach, so the bench profiles in-process.
 */
export async function profiled<T>(file: string | undefined, fn: () => Promise<T>): Promise<T> {
	if (!file) return fn();
	const session = new Session();
	session.connect();
	const post = (method: string, params?: object) =>
		new Promise<unknown>((resolve, reject) =>
			session.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result))),
		);
	await post('Profiler.enable');
	await post('Profiler.setSamplingInterval', { interval: 200 });
	await post('Profiler.start');
	try {
		return await fn();
	} finally {
		const { profile } = (await post('Profiler.stop')) as { profile: unknown };
		writeFileSync(file, JSON.stringify(profile));
		session.disconnect();
	}
}

interface ProfileNode {
	id: number;
	callFrame: { functionName: string; url: string; lineNumber: number };
	children?: number[];
	hitCount?: number;
}

/** Self time by function, top N, from a .cpuprofile: enough to see where the time goes. */
export function topSelfTime(profile: { nodes: ProfileNode[] }, n = 25): string[] {
	const byName = new Map<string, number>();
	let total = 0;
	for (const node of profile.nodes) {
		const hits = node.hitCount ?? 0;
		total += hits;
		const where = node.callFrame.url.replace(/.*node_modules\//, '').replace(/.*\/work\/main\//, '');
		const name = `${node.callFrame.functionName || '(anonymous)'} ${where}:${node.callFrame.lineNumber + 1}`;
		byName.set(name, (byName.get(name) ?? 0) + hits);
	}
	return [...byName.entries()]
		.sort((a, b) => b[1] - a[1])
		.slice(0, n)
		.map(([name, hits]) => `${((hits / Math.max(total, 1)) * 100).toFixed(1).padStart(5)}%  ${name}`);
}
