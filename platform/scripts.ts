import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Cluster, Redis } from './redis-driver';

/**
 * Lua scripts are first-class files in platform/scripts/, each one atomic state change,
 * loaded once and installed on every client as a custom command (EVALSHA with a
 * transparent fallback, also inside pipelines).
 */
export interface LuaScript {
	readonly name: string;
	readonly numberOfKeys: number;
	readonly lua: string;
}

const registry = new Map<string, LuaScript>();

export function scriptsDir(): string {
	return join(__dirname, 'scripts');
}

/** Declares a script from `platform/scripts/<file>`; call at module load. */
export function defineScript(name: string, file: string, numberOfKeys: number): LuaScript {
	const existing = registry.get(name);
	if (existing) return existing;
	const script: LuaScript = { name, numberOfKeys, lua: readFileSync(join(scriptsDir(), file), 'utf8') };
	registry.set(name, script);
	return script;
}

/** One script file of a composed script and how many arguments it takes. */
export interface ScriptPart {
	file: string;
	/** How many arguments this part takes; they follow the previous part's in the composed ARGV. */
	argCount: number;
}

/**
 * Declares a script that runs several script files one after another in one call (one round
 * trip, one atomic unit), each file unchanged: its body becomes a local function whose KEYS
 * and ARGV parameters shadow the globals, so a `return` in it ends only that part. Every part
 * sees all KEYS and its own slice of ARGV; the reply is the list of the parts' replies.
 */
export function defineComposedScript(name: string, parts: ScriptPart[], numberOfKeys: number): LuaScript {
	const existing = registry.get(name);
	if (existing) return existing;
	// A part may write before a later part reads TIME; effects replication must be on from the start.
	const lines = ['if redis.replicate_commands then redis.replicate_commands() end'];
	let next = 1;
	parts.forEach((part, i) => {
		const body = readFileSync(join(scriptsDir(), part.file), 'utf8');
		lines.push(`local function part${i + 1}(KEYS, ARGV)`, body, 'end');
		const args = Array.from({ length: part.argCount }, (_, k) => `ARGV[${next + k}]`);
		next += part.argCount;
		lines.push(`local reply${i + 1} = part${i + 1}(KEYS, {${args.join(', ')}})`);
	});
	lines.push(`return {${parts.map((_, i) => `reply${i + 1}`).join(', ')}}`);
	const script: LuaScript = { name, numberOfKeys, lua: lines.join('\n') };
	registry.set(name, script);
	return script;
}

export type RedisLike = Redis | Cluster;

/** Installs every declared script on a client, so that pipelines created afterwards carry them. */
export function installScripts(client: RedisLike): void {
	for (const script of registry.values()) {
		if (typeof (client as unknown as Record<string, unknown>)[script.name] === 'function') continue;
		client.defineCommand(script.name, { numberOfKeys: script.numberOfKeys, lua: script.lua });
	}
}

type ScriptCall = (...args: Array<string | number | Buffer>) => Promise<unknown>;

/** Runs a script directly on a client (outside a pipeline). */
export async function runScript(
	client: RedisLike,
	script: LuaScript,
	keys: string[],
	args: Array<string | number>,
): Promise<unknown> {
	installScripts(client);
	const fn = (client as unknown as Record<string, ScriptCall>)[script.name];
	return fn.call(client, ...keys, ...args);
}

/** Queues a script call on a pipeline; the client must have had installScripts() first. */
export function queueScript(
	pipeline: unknown,
	script: LuaScript,
	keys: string[],
	args: Array<string | number>,
): void {
	const fn = (pipeline as Record<string, (...a: Array<string | number>) => unknown>)[script.name];
	if (typeof fn !== 'function') {
		throw new Error(`Script ${script.name} was not installed on the client before the pipeline was made`);
	}
	fn.call(pipeline, ...keys, ...args);
}
