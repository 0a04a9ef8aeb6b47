/**
 * 5. Rate-limit checks per second through platform/rate-limit.ts (the same Lua script the
 *    node pipelines), with 100 checks in flight on one shared connection:
 *    - one hot key, limit 100 per minute: after the first 100, every check is refused, and
 *      exactly 100 must be allowed (the bench fails otherwise);
 *    - 10,000 keys, limit 100 per minute each: every check is allowed.
 */
import { randomBytes } from 'node:crypto';

import { KeySchema } from '../../platform/keys';
import { checkRateLimit } from '../../platform/rate-limit';
import type { BenchServer } from '../lib/server';
import { fmtRate, median, nowMs } from '../lib/stats';
import type { Section } from '../lib/report';

const RATE_LIMIT_DB = 4;
const RULE = { maxRequests: 100, windowMs: 60_000 };
const IN_FLIGHT = 100;

export interface RateLimitFigures {
	case: string;
	checks: number;
	rate: number;
	allowed: number;
}

async function concurrently(total: number, inFlight: number, fn: (i: number) => Promise<void>): Promise<void> {
	let next = 0;
	await Promise.all(
		Array.from({ length: inFlight }, async () => {
			while (next < total) {
				const i = next++;
				await fn(i);
			}
		}),
	);
}

export async function runRateLimitSuite(
	server: BenchServer,
	options: { checks: number; keys: number; repeats: number },
): Promise<RateLimitFigures[]> {
	const client = server.raw(RATE_LIMIT_DB);
	const schema = new KeySchema('');
	const cases = [
		{ name: 'one hot key (100/min: all but 100 refused)', keyOf: (tag: string) => () => schema.rateLimit(`bench-hot-${tag}`), distinct: 1 },
		{
			name: `${options.keys.toLocaleString('en-US')} keys (100/min each: all allowed)`,
			keyOf: (tag: string) => (i: number) => schema.rateLimit(`bench-k-${tag}-${i % options.keys}`),
			distinct: options.keys,
		},
	];
	const out: RateLimitFigures[] = [];
	try {
		for (const c of cases) {
			const rates: number[] = [];
			let allowed = 0;
			for (let r = 0; r < options.repeats + 1; r++) {
				const tag = randomBytes(4).toString('hex');
				const keyOf = c.keyOf(tag);
				let ok = 0;
				const start = nowMs();
				await concurrently(options.checks, IN_FLIGHT, async (i) => {
					if ((await checkRateLimit(client, keyOf(i), RULE)).allowed) ok += 1;
				});
				const elapsed = nowMs() - start;
				const expected = c.distinct === 1 ? RULE.maxRequests : options.checks;
				if (ok !== expected) throw new Error(`rate limit "${c.name}": ${ok} allowed, expected exactly ${expected}`);
				// The first run warms up (script load, JIT) and is not counted.
				if (r > 0) rates.push((options.checks * 1000) / elapsed);
				allowed = ok;
				const pipe = client.pipeline();
				for (let k = 0; k < c.distinct; k++) pipe.unlink(keyOf(k));
				await pipe.exec();
			}
			out.push({ case: c.name, checks: options.checks, rate: median(rates), allowed });
		}
	} finally {
		await client.quit();
	}
	return out;
}

export function rateLimitSection(figures: RateLimitFigures[]): Section {
	return {
		title: '5. Rate-limit checks per second',
		intro: `Exact sliding-window checks (one Lua script each, \`platform/rate-limit.ts\`), ${IN_FLIGHT} in flight on one connection; the allowed count is verified exactly on every run.`,
		head: ['Case', 'Checks per run', 'Checks/s', 'Allowed'],
		rows: figures.map((f) => [f.case, f.checks.toLocaleString('en-US'), fmtRate(f.rate), f.allowed.toLocaleString('en-US')]),
	};
}
