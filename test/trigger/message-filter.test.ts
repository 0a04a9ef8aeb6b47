import { matchesAll, normaliseFilters, readPath, valueMatches } from '../../platform/message-filter';

describe('message filters', () => {
	const message = { status: 'approved', draft_id: 123, ok: true, none: null, data: { status: 'x', tags: ['a', 'b'] } };

	it('reads nested dot paths and array indexes, own properties only', () => {
		expect(readPath(message, 'data.status')).toBe('x');
		expect(readPath(message, 'data.tags.1')).toBe('b');
		expect(valueMatches(readPath(message, 'data.missing'), '')).toBe(false);
		expect(valueMatches(readPath(message, 'constructor'), '')).toBe(false);
		expect(valueMatches(readPath(message, 'status.length'), '8')).toBe(false);
	});

	it('compares values as text, so numbers, booleans and null match their UI form', () => {
		expect(valueMatches(123, '123')).toBe(true);
		expect(valueMatches('123', '123')).toBe(true);
		expect(valueMatches(123, '124')).toBe(false);
		expect(valueMatches(true, 'true')).toBe(true);
		expect(valueMatches(null, 'null')).toBe(true);
		expect(valueMatches('null', 'null')).toBe(true);
		expect(valueMatches(['a', 'b'], '["a","b"]')).toBe(true);
		expect(valueMatches('Approved', 'approved')).toBe(false);
	});

	it('needs every filter to match; no filters match everything; text never matches a filter', () => {
		expect(matchesAll(message, [])).toBe(true);
		expect(matchesAll(message, [{ path: 'status', value: 'approved' }, { path: 'draft_id', value: '123' }])).toBe(true);
		expect(matchesAll(message, [{ path: 'status', value: 'approved' }, { path: 'draft_id', value: '1' }])).toBe(false);
		expect(matchesAll('status approved', [{ path: 'status', value: 'approved' }])).toBe(false);
	});

	it('ignores half-filled rows from the UI', () => {
		expect(normaliseFilters([{ path: ' status ', value: 'x' }, { path: '', value: 'y' }, { value: 'z' }])).toEqual([
			{ path: 'status', value: 'x' },
		]);
	});
});
