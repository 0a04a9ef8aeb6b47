import { join } from 'node:path';

import { declaredKeys, readLuaScript } from './lua-source';
import type { ChainableCommander, Cluster, Redis, Result } from './redis-driver';

/**
 * The script registry. Every Lua script of the platform lives in platform/scripts/ (shared
 * fragments in platform/scripts/includes/, pasted in by lua-source.ts) and is listed here
 * once. The registry is read when the first client is created (redis-client.ts hands it to
 * ioredis' `scripts` option), so every client and every pipeline made from it carries every
 * script as a command: `client.queueTake(...)` or `pipeline.queueTake(...)`, typed below,
 * run as EVALSHA with ioredis' fallback to EVAL. Domain modules wrap each command in a
 * `send*` function (keys and arguments) and a `parse*` function (reply to result).
 */

export type RedisLike = Redis | Cluster;

/** Where a script call goes: a client (the call returns its reply) or a pipeline (the call joins it). */
export type ScriptTarget = RedisLike | ChainableCommander;

export type ScriptArg = string | number | Buffer;

/** What a call on `T` returns: the reply's promise on a client, the pipeline itself on a pipeline. */
export type Sent<T extends ScriptTarget, Reply> = T extends ChainableCommander ? ChainableCommander : Promise<Reply>;

/** Command name -> source file in platform/scripts/. */
const FILES = {
	conversationAppend: 'conversation-append.lua',
	lockAcquire: 'lock-acquire.lua',
	lockExtend: 'lock-extend.lua',
	lockRelease: 'lock-release.lua',
	lockSweep: 'lock-sweep.lua',
	queueComplete: 'queue-complete.lua',
	queueCompleteTake: 'queue-complete-take.lua',
	queueEnqueue: 'queue-enqueue.lua',
	queueExtend: 'queue-extend.lua',
	queueFail: 'queue-fail.lua',
	queuePurgeDead: 'queue-purge-dead.lua',
	queueRecover: 'queue-recover.lua',
	queueRelease: 'queue-release.lua',
	queueRetryDead: 'queue-retry-dead.lua',
	queueStats: 'queue-stats.lua',
	queueTake: 'queue-take.lua',
	rateLimitCheck: 'rate-limit-check.lua',
	rateLimitFixedWindow: 'rate-limit-fixed-window.lua',
	rateLimitLeave: 'rate-limit-leave.lua',
	rateLimitTokenBucket: 'rate-limit-token-bucket.lua',
} as const;

export type ScriptName = keyof typeof FILES;

export type QueueTakeReply =
	| [kind: 'job', id: string, envelope: string, attempt: number, maxAttempts: number, lease: string, deadline: number, now: number, lastError: string]
	| [kind: 'empty', nextRunAt: number, now: number, promoted: number, recovered: number, buried: number, held: number];

export type QueueCompleteReply = 'done' | 'missing' | 'stale';

declare module 'ioredis' {
	// Replies as they come off the wire; each domain module's parse* turns them into results.
	interface RedisCommander<Context> {
		conversationAppend(...args: ScriptArg[]): Result<[length: number, trimmed: number], Context>;
		lockAcquire(...args: ScriptArg[]): Result<number[], Context>;
		lockExtend(...args: ScriptArg[]): Result<number[], Context>;
		lockRelease(...args: ScriptArg[]): Result<number, Context>;
		lockSweep(...args: ScriptArg[]): Result<number[], Context>;
		queueComplete(...args: ScriptArg[]): Result<QueueCompleteReply, Context>;
		queueCompleteTake(...args: ScriptArg[]): Result<[QueueCompleteReply, QueueTakeReply], Context>;
		queueEnqueue(...args: ScriptArg[]): Result<[enqueued: number, runAt: number], Context>;
		queueExtend(...args: ScriptArg[]): Result<[status: string, deadline?: number], Context>;
		queueFail(...args: ScriptArg[]): Result<[status: string, attempt?: number, at?: number], Context>;
		queuePurgeDead(...args: ScriptArg[]): Result<number, Context>;
		queueRecover(...args: ScriptArg[]): Result<[promoted: number, recovered: number, buried: number], Context>;
		queueRelease(...args: ScriptArg[]): Result<'released' | 'missing' | 'stale', Context>;
		queueRetryDead(...args: ScriptArg[]): Result<number, Context>;
		queueStats(...args: ScriptArg[]): Result<Array<number | string>, Context>;
		queueTake(...args: ScriptArg[]): Result<QueueTakeReply, Context>;
		rateLimitCheck(...args: ScriptArg[]): Result<number[], Context>;
		rateLimitFixedWindow(...args: ScriptArg[]): Result<number[], Context>;
		rateLimitLeave(...args: ScriptArg[]): Result<number, Context>;
		rateLimitTokenBucket(...args: ScriptArg[]): Result<number[], Context>;
	}
}

export interface LuaScript {
	readonly name: ScriptName;
	readonly file: string;
	/** The key names the script declares (`--@keys`), in the order it receives them. */
	readonly keys: readonly string[];
	/** The script with its includes expanded, exactly as the build ships it. */
	readonly lua: string;
}

/** platform/scripts/ from the sources, dist/platform/scripts/ (already expanded) from the build. */
export function scriptsDir(): string {
	return join(__dirname, 'scripts');
}

let registry: ReadonlyMap<ScriptName, LuaScript> | undefined;

function loadRegistry(): ReadonlyMap<ScriptName, LuaScript> {
	registry ??= new Map(
		(Object.entries(FILES) as Array<[ScriptName, string]>).map(([name, file]) => {
			const lua = readLuaScript(join(scriptsDir(), file));
			return [name, { name, file, keys: declaredKeys(lua, file), lua }];
		}),
	);
	return registry;
}

export function luaScript(name: ScriptName): LuaScript {
	const script = loadRegistry().get(name);
	if (!script) throw new Error(`No Lua script is registered as "${name}"`);
	return script;
}

export function allScripts(): LuaScript[] {
	return [...loadRegistry().values()];
}

/** ioredis' `scripts` client option: every script as a command, keys counted from its declaration. */
export function scriptCommands(): Record<ScriptName, { lua: string; numberOfKeys: number }> {
	const commands = {} as Record<ScriptName, { lua: string; numberOfKeys: number }>;
	for (const script of loadRegistry().values()) commands[script.name] = { lua: script.lua, numberOfKeys: script.keys.length };
	return commands;
}

/**
 * The keys a script declares, picked by name from an object of named keys (a queue's
 * QueueKeys), so each script receives exactly the keys it uses, in its own order.
 */
export function keysFor(name: ScriptName, named: object): string[] {
	return luaScript(name).keys.map((key) => {
		const value = (named as Record<string, unknown>)[key];
		if (typeof value !== 'string') throw new Error(`Script ${name} needs the key "${key}", which was not given`);
		return value;
	});
}
