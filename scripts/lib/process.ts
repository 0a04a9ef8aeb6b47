// Small process and network helpers shared by `npm start` and the e2e suite.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface CommandResult {
	code: number | null;
	stdout: string;
	stderr: string;
}

/** Runs a command to completion and collects its output (never throws on a non-zero exit). */
export function runCommand(
	cmd: string,
	args: string[],
	options: SpawnOptions & { timeoutMs?: number } = {},
): Promise<CommandResult> {
	return new Promise((resolveRun, reject) => {
		const child = spawn(cmd, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
		let stdout = '';
		let stderr = '';
		child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
		child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
		const timer = options.timeoutMs
			? setTimeout(() => {
					stderr += `\n[killed after ${options.timeoutMs} ms]`;
					child.kill('SIGKILL');
				}, options.timeoutMs)
			: undefined;
		child.on('error', reject);
		child.on('close', (code) => {
			if (timer) clearTimeout(timer);
			resolveRun({ code, stdout, stderr });
		});
	});
}

// The port helpers live in the harness, shared with the tests and the bench.
export { freePort, portIsFree } from '../../harness/net';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves after ms without keeping the process alive (for races against a deadline). */
export const deadline = (ms: number) => new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref());

/** Waits until the child exits, killing it harder if it does not stop in time. */
export async function stopChild(child: ChildProcess, graceMs = 20_000): Promise<void> {
	if (child.exitCode !== null || child.signalCode !== null) return;
	const exited = new Promise<void>((r) => child.once('exit', () => r()));
	child.kill('SIGTERM');
	const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
	await exited;
	clearTimeout(timer);
}

/** Polls an HTTP URL until it answers with the wanted status. */
export async function waitForHttp(
	url: string,
	{ timeoutMs = 120_000, status = 200, alive }: { timeoutMs?: number; status?: number; alive?: () => string | undefined } = {},
): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	let last = '';
	while (Date.now() < deadline) {
		const dead = alive?.();
		if (dead) throw new Error(dead);
		try {
			const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
			if (res.status === status) return;
			last = `HTTP ${res.status}`;
		} catch (error) {
			last = (error as Error).message;
		}
		await sleep(500);
	}
	throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms (last: ${last})`);
}

// ---------------------------------------------------------------------------------------------------------
// Process groups, ancestors and a watchdog: what `npm start` needs to stop everything it started, whichever
// process of the `npm → sh → tsx → node` chain gets the signal. Linux details come from /proc; elsewhere the
// helpers fall back to what `process.kill(pid, 0)` can tell.

export interface ProcInfo {
	pid: number;
	ppid: number;
	pgid: number;
	/** One-letter state from /proc/<pid>/stat; 'Z' is a zombie, which holds no ports and runs nothing. */
	state: string;
	/** Start time in clock ticks since boot: with the pid it names a process even after the pid is reused. */
	startTime: number;
	comm: string;
}

const HAS_PROC = process.platform === 'linux';

/** Reads /proc/<pid>/stat (Linux); undefined when the process is gone or /proc is missing. */
export function procInfo(pid: number): ProcInfo | undefined {
	if (!HAS_PROC) return undefined;
	let stat: string;
	try {
		stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
	} catch {
		return undefined;
	}
	// comm may contain spaces and parentheses, so the fields after it are found from the last ')'.
	const close = stat.lastIndexOf(')');
	const comm = stat.slice(stat.indexOf('(') + 1, close);
	const fields = stat.slice(close + 2).split(' ');
	return {
		pid,
		state: fields[0],
		ppid: Number(fields[1]),
		pgid: Number(fields[2]),
		startTime: Number(fields[19]),
		comm,
	};
}

/** Every process /proc shows (Linux only; empty elsewhere). */
export function listProcesses(): ProcInfo[] {
	if (!HAS_PROC) return [];
	const out: ProcInfo[] = [];
	for (const name of readdirSync('/proc')) {
		if (!/^\d+$/.test(name)) continue;
		const info = procInfo(Number(name));
		if (info) out.push(info);
	}
	return out;
}

/** All descendants of root, found through parent links (Linux only). Detached children stay children. */
export function descendants(root: number, all = listProcesses()): ProcInfo[] {
	const byParent = new Map<number, ProcInfo[]>();
	for (const p of all) byParent.set(p.ppid, [...(byParent.get(p.ppid) ?? []), p]);
	const out: ProcInfo[] = [];
	const queue = [root];
	while (queue.length > 0) {
		for (const child of byParent.get(queue.shift() as number) ?? []) {
			out.push(child);
			queue.push(child.pid);
		}
	}
	return out;
}

/**
 * A zombie has freed its files and ports, but a SIGKILLed multi-threaded process shows its main thread as a
 * zombie while the other threads still tear down (and still hold the shared files): done only when it is alone.
 */
function finished(info: ProcInfo): boolean {
	if (info.state !== 'Z') return false;
	try {
		return readdirSync(`/proc/${info.pid}/task`).length <= 1;
	} catch {
		return true;
	}
}

/** True while the process runs (not a finished zombie) and, when its start time is known, is still the same process. */
export function isRunning(pid: number, startTime?: number): boolean {
	if (HAS_PROC) {
		const info = procInfo(pid);
		return info !== undefined && !finished(info) && (startTime === undefined || info.startTime === startTime);
	}
	try {
		process.kill(pid, 0);
		return true;
	} catch (error) {
		return (error as NodeJS.ErrnoException).code === 'EPERM';
	}
}

/** True while any non-zombie process is in the process group. */
export function groupAlive(pgid: number): boolean {
	if (HAS_PROC) return listProcesses().some((p) => p.pgid === pgid && !finished(p));
	try {
		process.kill(-pgid, 0);
		return true;
	} catch (error) {
		return (error as NodeJS.ErrnoException).code === 'EPERM';
	}
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
	try {
		process.kill(-pgid, signal);
	} catch {
		// the group is already gone
	}
}

/**
 * Stops a child that was spawned with `detached: true` (so it leads a process group of its own) together with
 * everything it started: SIGTERM to the group, SIGKILL after graceMs. Resolves when no process of the group
 * runs any more, so the ports are free; n8n's task runner, for one, is a grandchild that the group kill reaches.
 */
export async function stopGroup(child: ChildProcess, graceMs = 20_000): Promise<void> {
	const pgid = child.pid;
	if (pgid === undefined) return;
	const leaderDone = () => child.exitCode !== null || child.signalCode !== null;
	if (leaderDone() && !groupAlive(pgid)) return;
	signalGroup(pgid, 'SIGTERM');
	const killAt = Date.now() + graceMs;
	// Bounded: a process that SIGKILL cannot end (stuck in the kernel) must not hang the stop forever.
	const giveUpAt = killAt + 5_000;
	let killed = false;
	while ((!leaderDone() || groupAlive(pgid)) && Date.now() < giveUpAt) {
		if (!killed && Date.now() >= killAt) {
			signalGroup(pgid, 'SIGKILL');
			killed = true;
		}
		await sleep(100);
	}
}

/** Stops every direct child of this process except those in `keep`: group-wise for group leaders (Linux only). */
export async function stopAllChildren(keep: number[], graceMs = 10_000): Promise<void> {
	const children = listProcesses().filter((p) => p.ppid === process.pid && !finished(p) && !keep.includes(p.pid));
	const targets = children.map((c) => (c.pgid === c.pid ? -c.pid : c.pid));
	const send = (signal: NodeJS.Signals) => {
		for (const target of targets) {
			try {
				process.kill(target, signal);
			} catch {
				// gone already
			}
		}
	};
	const alive = () => children.some((c) => (c.pgid === c.pid ? groupAlive(c.pid) : isRunning(c.pid, c.startTime)));
	send('SIGTERM');
	const killAt = Date.now() + graceMs;
	while (alive() && Date.now() < killAt) await sleep(100);
	if (alive()) send('SIGKILL');
}

export interface Ancestor {
	pid: number;
	startTime?: number;
	comm: string;
}

function hasNpmScriptEnv(pid: number, event: string): boolean {
	try {
		return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`npm_lifecycle_event=${event}`);
	} catch {
		return false;
	}
}

/**
 * The processes this one should not outlive: the parent always, and on Linux, when started by an npm script,
 * every ancestor up to and including npm itself (the processes npm spawned for the script carry its
 * npm_lifecycle_event in their environment; npm is the parent of the outermost of them). Processes above npm (the user's shell) are left
 * out on purpose: `nohup npm start &` must survive the shell that started it.
 */
export function npmAncestors(): Ancestor[] {
	const parent = procInfo(process.ppid);
	const chain: Ancestor[] = [{ pid: process.ppid, startTime: parent?.startTime, comm: parent?.comm ?? 'parent' }];
	// The event of the script we run in: an outer npm (`npm run test:e2e` running `npm start`) has another one,
	// so the climb stops at the npm that runs us.
	const event = process.env.npm_lifecycle_event;
	if (!HAS_PROC || !event) return chain;
	let pid = process.ppid;
	while (hasNpmScriptEnv(pid, event)) {
		const up = procInfo(procInfo(pid)?.ppid ?? 0);
		if (!up || up.pid <= 1) break;
		chain.push({ pid: up.pid, startTime: up.startTime, comm: up.comm });
		pid = up.pid;
	}
	return chain;
}

/**
 * Calls onGone once when one of the ancestors exits (polled: no OS offers a portable "parent died" event to
 * Node). A SIGTERM to npm or a SIGHUP to tsx kills the shell or tsx between us and npm without passing the
 * signal on; this is how the inner process still learns it should stop.
 */
export function watchAncestors(ancestors: Ancestor[], onGone: (gone: Ancestor) => void, intervalMs = 250): () => void {
	const originalPpid = process.ppid;
	const timer = setInterval(() => {
		const gone = ancestors.find((a) => !isRunning(a.pid, a.startTime)) ?? (process.ppid !== originalPpid ? ancestors[0] : undefined);
		if (gone) {
			clearInterval(timer);
			onGone(gone);
		}
	}, intervalMs);
	timer.unref();
	return () => clearInterval(timer);
}

export interface Watchdog {
	pid: number;
	/** Adds a process group to kill should this process die without releasing the watchdog. */
	watch(pgid: number): void;
	/** This process stopped its children itself: the watchdog exits without killing anything. */
	release(): void;
}

// A shell, not a second Node: it costs next to nothing, and it reads the pipe from us, whose write end the
// kernel closes however we die (even SIGKILL or an OOM kill), which no signal handler of ours would survive.
const WATCHDOG_SCRIPT = `
groups=""
while read -r word pgid; do
  case "$word" in
    watch) groups="$groups -$pgid" ;;
    release) exit 0 ;;
  esac
done
[ -z "$groups" ] && exit 0
# Orphans are reaped by pid 1, which in a container may take its time: a zombie counts as gone.
alive() {
  ps -A -o pgid= -o stat= | awk -v g="$groups" '
    BEGIN { n = split(g, a, " "); for (i = 1; i <= n; i++) w[-a[i]] = 1 }
    ($1 in w) && $2 !~ /^Z/ { found = 1 }
    END { exit !found }'
}
kill -TERM $groups 2>/dev/null
# Short grace: n8n stops in well under a second, except that with our end of its stdout pipe gone it can spin
# on the write errors instead of exiting, and only SIGKILL ends it then.
i=0
while [ $i -lt 30 ] && alive; do sleep 0.1; i=$((i + 1)); done
kill -KILL $groups 2>/dev/null
exit 0
`;

/**
 * Starts a watchdog in a session of its own (so a Ctrl-C or a terminal hang-up does not end it first) that
 * kills the watched process groups when this process dies without releasing it.
 */
export function startWatchdog(): Watchdog {
	const child = spawn('sh', ['-c', WATCHDOG_SCRIPT], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
	child.unref();
	// Without a shell (Windows) there is no watchdog; that must not end `npm start`.
	child.on('error', () => undefined);
	// The pipe must not keep this process alive, nor throw if the watchdog is gone already.
	child.stdin?.on('error', () => undefined);
	(child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
	const watched = new Set<number>();
	const write = (line: string) => {
		if (child.stdin?.writable) child.stdin.write(line + '\n');
	};
	return {
		pid: child.pid as number,
		watch(pgid) {
			if (watched.has(pgid)) return;
			watched.add(pgid);
			write(`watch ${pgid}`);
		},
		release() {
			write('release');
			child.stdin?.end();
		},
	};
}
