import { decodeMaybeJson, ValueError } from './codec';
import type { ScriptTarget, Sent } from './scripts';

/**
 * Agent conversation memory in two layouts on Redis lists:
 * - "platform": `conversation:{campaign}:{agent}`, each message a JSON object as the
 *   workflow or redis_manager.py gave it, RPUSH'ed so the list reads oldest first;
 * - "langchain": `message_store:{session}` (or the bare session id for n8n's Redis Chat
 *   Memory), each message `{"type": "human"|"ai"|"system", "data": {"content": ...}}`,
 *   LPUSH'ed so the list reads newest first, exactly as LangChain's RedisChatMessageHistory
 *   (Python and JS) writes it and reverses it on read.
 */
export type ConversationFormat = 'platform' | 'langchain';

export interface LangChainMessage {
	type: string;
	data: { content: unknown; [field: string]: unknown };
}

/** LangChain message types its loaders accept; anything else makes them throw on read. */
const LANGCHAIN_TYPES = new Set(['human', 'ai', 'system', 'tool', 'function', 'generic']);

/** Chat-API role names (OpenAI style) and LangChain type names, to LangChain types. */
const ROLE_TO_TYPE: Readonly<Record<string, string>> = {
	user: 'human',
	human: 'human',
	assistant: 'ai',
	ai: 'ai',
	system: 'system',
};

function isObject(value: unknown): value is Record<string, unknown> {
	return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function validContent(content: unknown): boolean {
	return typeof content === 'string' || Array.isArray(content);
}

/**
 * One message in LangChain's stored shape. Accepts `{role|type, content}` (role user,
 * assistant, system, human or ai) or an already stored `{type, data: {content}}`.
 */
export function toLangChainMessage(message: unknown, position: number): LangChainMessage {
	const where = `message ${position + 1}`;
	if (!isObject(message)) throw new ValueError(`${where} is not a JSON object`);
	if (isObject(message.data) && typeof message.type === 'string') {
		if (!LANGCHAIN_TYPES.has(message.type)) {
			throw new ValueError(`${where} has LangChain type "${message.type}"; use human, ai or system`);
		}
		if (!validContent(message.data.content)) throw new ValueError(`${where} has no text "data.content"`);
		return { type: message.type, data: message.data as LangChainMessage['data'] };
	}
	const role = message.role ?? message.type;
	const type = typeof role === 'string' ? ROLE_TO_TYPE[role.toLowerCase()] : undefined;
	if (!type) {
		throw new ValueError(
			`${where} has role ${role === undefined ? 'missing' : JSON.stringify(role)}; use "user", "assistant" or "system" (or human, ai)`,
		);
	}
	if (!validContent(message.content)) throw new ValueError(`${where} has no text "content"`);
	return { type, data: { content: message.content } };
}

/** One message in the platform layout: any JSON object, stored as given. */
export function toPlatformMessage(message: unknown, position: number): Record<string, unknown> {
	if (!isObject(message)) throw new ValueError(`message ${position + 1} is not a JSON object`);
	return message;
}

/** Turns the input (one message or a list) into the stored JSON strings, oldest first. */
export function encodeMessages(format: ConversationFormat, input: unknown): string[] {
	const list = Array.isArray(input) ? input : [input];
	if (list.length === 0) throw new ValueError('is an empty list; give at least one message');
	return list.map((message, i) =>
		JSON.stringify(format === 'langchain' ? toLangChainMessage(message, i) : toPlatformMessage(message, i)),
	);
}

/** Which side of the list holds the newest message. */
export function pushSide(format: ConversationFormat): 'L' | 'R' {
	return format === 'langchain' ? 'L' : 'R';
}

/**
 * Appends encoded messages, trims to the newest `maxLength` (0 = no limit) and renews the TTL
 * (seconds, 0 = leave it) in one script (platform/scripts/conversation-append.lua).
 */
export function sendConversationAppend<T extends ScriptTarget>(
	target: T,
	key: string,
	format: ConversationFormat,
	messages: string[],
	maxLength: number,
	ttlSeconds: number,
): Sent<T, unknown> {
	return target.conversationAppend(key, pushSide(format), maxLength, ttlSeconds, ...messages) as Sent<T, unknown>;
}

export function parseConversationAppend(reply: unknown): { length: number; trimmed: number } {
	const [length, trimmed] = reply as [number, number];
	return { length, trimmed };
}

/** LRANGE bounds for the newest `limit` messages (all when limit is undefined). */
export function historyRange(format: ConversationFormat, limit?: number): [number, number] {
	if (limit === undefined) return [0, -1];
	return format === 'langchain' ? [0, limit - 1] : [-limit, -1];
}

/** Decodes an LRANGE reply into messages ordered oldest first, whatever the storage order. */
export function orderHistory(format: ConversationFormat, raw: string[]): unknown[] {
	const messages = raw.map((text) => decodeMaybeJson(text));
	return format === 'langchain' ? messages.reverse() : messages;
}
