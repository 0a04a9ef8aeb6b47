/**
 * When a pending entry whose delivery failed is handed out again by the same activation.
 *
 * Without this, an entry kept pending while n8n stays up (a queue-mode worker killed
 * mid-execution: main never restarts) would wait for the next activation, maybe for days.
 * The backoff keeps an entry that fails every time from hammering n8n.
 */
export type RedeliveryDelay = (failures: number) => number;

/** 15 s after the first failure, doubling up to 10 min. */
export const defaultRedeliveryDelay: RedeliveryDelay = (failures) => Math.min(15_000 * 2 ** (failures - 1), 600_000);

export class RedeliverySchedule {
	private readonly failures = new Map<string, number>();

	private readonly timers = new Set<ReturnType<typeof setTimeout>>();

	constructor(private readonly delay: RedeliveryDelay = defaultRedeliveryDelay) {}

	/** Counts a failed delivery and calls `due` after the backoff; returns the delay in ms. */
	failed(tag: string, due: () => void): number {
		const failures = (this.failures.get(tag) ?? 0) + 1;
		this.failures.set(tag, failures);
		const delayMs = this.delay(failures);
		const timer = setTimeout(() => {
			this.timers.delete(timer);
			due();
		}, delayMs);
		// A pending redelivery must not keep n8n (or a test run) alive.
		timer.unref?.();
		this.timers.add(timer);
		return delayMs;
	}

	/** The entry was acknowledged: its count starts over. */
	succeeded(tag: string): void {
		this.failures.delete(tag);
	}

	stop(): void {
		for (const timer of this.timers) clearTimeout(timer);
		this.timers.clear();
	}
}
