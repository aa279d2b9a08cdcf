import { evaluateFieldMapping, MappingSyntaxError, parseFieldMapping } from '../../../src/artifact';

describe('parseFieldMapping', () => {
  test.each([
    ['"ticket_created"', { kind: 'literal', value: 'ticket_created' }],
    ['"say \\"hi\\""', { kind: 'literal', value: 'say "hi"' }],
    ['""', { kind: 'literal', value: '' }],
    ['"x\'; drop table users; --"', { kind: 'literal', value: "x'; drop table users; --" }],
    ['data.subject', { kind: 'field', field: 'subject' }],
    [' data.org_id ', { kind: 'field', field: 'org_id' }],
    ['42', { kind: 'literal', value: 42 }],
    ['-1.5', { kind: 'literal', value: -1.5 }],
    ['true', { kind: 'literal', value: true }],
    ['false', { kind: 'literal', value: false }],
    ['null', { kind: 'literal', value: null }],
  ])('%s', (text, expected) => {
    expect(parseFieldMapping(text)).toEqual(expected);
  });

  test.each(['ticket_created', "'single'", '"unterminated', 'data.', 'data.a.b', 'record.subject', '01', 'True', '', '"a" + "b"'])(
    '%j is refused',
    (text) => {
      expect(() => parseFieldMapping(text)).toThrow(MappingSyntaxError);
    },
  );
});

describe('evaluateFieldMapping', () => {
  const record = { subject: 'Printer on fire', assignee_id: null };
  test('literals are themselves, fields come from the record, a missing field is null', () => {
    expect(evaluateFieldMapping(parseFieldMapping('"Ticket"'), record)).toBe('Ticket');
    expect(evaluateFieldMapping(parseFieldMapping('data.subject'), record)).toBe('Printer on fire');
    expect(evaluateFieldMapping(parseFieldMapping('data.assignee_id'), record)).toBeNull();
    expect(evaluateFieldMapping(parseFieldMapping('data.missing'), record)).toBeNull();
    expect(evaluateFieldMapping(parseFieldMapping('3'), record)).toBe(3);
  });
});
