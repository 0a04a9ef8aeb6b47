/** Small statistics helpers: every published figure is a median over several timed runs. */

export function median(values: number[]): number {
	if (values.length === 0) return Number.NaN;
	const sorted = [...values].sort((a, b) => a - b);
	const mid = Math.floor(sorted.length / 2);
	return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Nearest-rank percentile (p in 0..100) of an already sorted array. */
export function percentileSorted(sorted: number[], p: number): number {
	if (sorted.length === 0) return Number.NaN;
	const rank = Math.ceil((p / 100) * sorted.length);
	return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function nowMs(): number {
	return Number(process.hrtime.bigint()) / 1e6;
}

export interface Sampled {
	/** Median rate over the samples, in operations per second. */
	rate: number;
	/** Every sample's rate, for the spread. */
	samples: number[];
}

export interface SampleOptions {
	/** Untimed runs first: JIT, connections, script loading. */
	warmup: number;
	/** Timed runs; the median is reported. */
	runs: number;
	/** Operations done by one call of `fn` (items, executions, jobs). */
	opsPerCall: number;
	/** Calls per timed run, so that tiny operations are timed over a measurable span. */
	callsPerRun?: number;
	/** Called before each run (timed or not) outside the timing, e.g. to reset state. */
	before?: () => Promise<void>;
}

/** Times `fn` and returns the median rate (ops/s) over `runs` timed runs after a warm-up. */
export async function sample(fn: () => Promise<void>, options: SampleOptions): Promise<Sampled> {
	const calls = options.callsPerRun ?? 1;
	const rates: number[] = [];
	for (let run = 0; run < options.warmup + options.runs; run++) {
		if (options.before) await options.before();
		const start = nowMs();
		for (let c = 0; c < calls; c++) await fn();
		const elapsed = nowMs() - start;
		if (run >= options.warmup) rates.push((options.opsPerCall * calls * 1000) / Math.max(elapsed, 1e-3));
	}
	return { rate: median(rates), samples: rates };
}

export function ratio(a: number, b: number): number {
	return b > 0 ? a / b : Number.NaN;
}

/** 12345.6 -> "12,346"; small numbers keep a decimal or two. */
export function fmtRate(n: number): string {
	if (!Number.isFinite(n)) return 'n/a';
	if (n >= 100) return Math.round(n).toLocaleString('en-US');
	if (n >= 10) return n.toFixed(1);
	return n.toFixed(2);
}

export function fmtRatio(n: number): string {
	if (!Number.isFinite(n)) return 'n/a';
	return n >= 10 ? `${n.toFixed(0)}x` : `${n.toFixed(2)}x`;
}

export function fmtPct(n: number): string {
	return Number.isFinite(n) ? `${(n * 100).toFixed(1)}%` : 'n/a';
}

export function fmtMs(n: number): string {
	return Number.isFinite(n) ? `${n.toFixed(n < 10 ? 2 : 1)} ms` : 'n/a';
}

export function fmtMb(bytes: number): string {
	return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
