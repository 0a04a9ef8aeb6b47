/**
 * At most `limit` entries in a handler at once. Entries are admitted in the order they wait,
 * which keeps stream order when the limit is 1.
 */
export class SlotGate {
	private inUse = 0;

	private waiters: Array<() => void> = [];

	constructor(private readonly limit: number) {}

	/** Waits for a free slot and takes it; false (and no slot) once `isClosed` says so. */
	async take(isClosed: () => boolean): Promise<boolean> {
		while (this.inUse >= this.limit && !isClosed()) {
			await new Promise<void>((resolve) => this.waiters.push(resolve));
		}
		if (isClosed()) return false;
		this.inUse += 1;
		return true;
	}

	/** Frees a slot and lets the longest waiter in. */
	give(): void {
		this.inUse -= 1;
		this.waiters.shift()?.();
	}

	/** Wakes every waiter, so each sees `isClosed` and gives up. */
	close(): void {
		for (const wake of this.waiters.splice(0)) wake();
	}
}
