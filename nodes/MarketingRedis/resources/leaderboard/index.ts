import type { ResourceDefinition } from '../../../shared/operation';
import { leaderboardOperations } from './operations';
import { leaderboardProperties } from './description';

export const leaderboardResource: ResourceDefinition = {
	value: 'leaderboard',
	name: 'Leaderboard',
	description: 'Ranked scores such as top_content (sorted sets, DB of the "default" role)',
	properties: leaderboardProperties,
	operations: leaderboardOperations,
};
