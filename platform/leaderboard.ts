/**
 * Leaderboards are plain sorted sets (the seed's `top_content`): member -> score, read
 * highest first. Redis replies with scores as strings; these helpers turn them into
 * numbers the same way redis-py's `withscores=True` does (float).
 */

export interface LeaderboardEntry {
	/** 1 for the first entry in the requested order. */
	rank: number;
	member: string;
	score: number;
}

/** Redis prints infinite scores as "inf" / "-inf". */
export function parseScore(text: unknown): number {
	const value = String(text).toLowerCase();
	if (value === 'inf' || value === '+inf') return Infinity;
	if (value === '-inf') return -Infinity;
	return Number(value);
}

/** Turns a `[member, score, member, score, ...]` WITHSCORES reply into ranked entries. */
export function entriesFromReply(reply: unknown, firstRank = 1): LeaderboardEntry[] {
	const flat = (reply ?? []) as string[];
	const entries: LeaderboardEntry[] = [];
	for (let i = 0; i + 1 < flat.length; i += 2) {
		entries.push({ rank: firstRank + i / 2, member: flat[i], score: parseScore(flat[i + 1]) });
	}
	return entries;
}
