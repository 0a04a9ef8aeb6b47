// What an `n8n worker` log says about the executions it ran ("Worker started execution 12 (job 5)",
// "Worker finished execution 12 (job 5)"): the only place that tells which worker ran what.
function ids(log: string, verb: 'started' | 'finished'): string[] {
	return [...log.matchAll(new RegExp(`Worker ${verb} execution (\\d+)`, 'g'))].map((m) => m[1]);
}

export function startedExecutions(log: string): string[] {
	return ids(log, 'started');
}

/** Executions the worker started and has not reported finished: running when the log was read. */
export function runningExecutions(log: string): string[] {
	const finished = new Set(ids(log, 'finished'));
	return startedExecutions(log).filter((id) => !finished.has(id));
}
