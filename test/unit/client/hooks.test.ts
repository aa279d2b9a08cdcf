/** Which jobs an event starts. */
import type { Artifact } from '../../../src/artifact/types';
import { matchHooks } from '../../../src/client/hooks';
import { artifact as build } from '../../support/artifact-builder';

const artifact: Artifact = build()
  .entity('Ticket', 'tickets', ['subject'])
  .entity('Note', 'notes', ['body'])
  .job('notify', 'Ticket', 'Ticket')
  .job('audit', 'Ticket', 'Ticket')
  .job('note_mail', 'Note', 'Note')
  .hook('Ticket', 'create', ['notify', 'audit'])
  .hook('Ticket', 'update', ['audit'])
  .hook('Ticket', 'create', ['audit'])
  .hook('Note', 'create', [])
  .build();

describe('matchHooks', () => {
  it('gives every hook of the entity and operation, in artifact order, with its jobs', () => {
    const matched = matchHooks(artifact, 'Ticket', 'create');
    expect(matched.map((h) => h.jobs.map((j) => j.name))).toEqual([['notify', 'audit'], ['audit']]);
    expect(matched[0]).toMatchObject({ entity: 'Ticket', operation: 'create', timing: 'after' });
    expect(matched[0].jobs[0]).toBe(artifact.jobs.notify);
  });

  it('matches neither another operation nor another entity', () => {
    expect(matchHooks(artifact, 'Ticket', 'update').map((h) => h.jobs.map((j) => j.name))).toEqual([['audit']]);
    expect(matchHooks(artifact, 'Ticket', 'delete')).toEqual([]);
    expect(matchHooks(artifact, 'Comment', 'create')).toEqual([]);
  });

  it('skips a hook with no jobs, and drops job names the artifact does not define', () => {
    expect(matchHooks(artifact, 'Note', 'create')).toEqual([]);
    const withGhost: Artifact = {
      ...artifact,
      hooks: [{ entity: 'Note', timing: 'after', operation: 'update', jobs: ['ghost', 'note_mail'] }],
    };
    expect(matchHooks(withGhost, 'Note', 'update').map((h) => h.jobs.map((j) => j.name))).toEqual([['note_mail']]);
  });
});
