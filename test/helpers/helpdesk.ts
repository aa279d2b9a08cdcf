/** The helpdesk example on a fresh database of the shared Postgres. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from './db';

export const HELPDESK = join(__dirname, '..', '..', 'examples', 'helpdesk');

export async function helpdeskDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase('helpdesk');
  await db.pool.query(readFileSync(join(HELPDESK, 'schema.sql'), 'utf8'));
  await db.pool.query(readFileSync(join(HELPDESK, 'seed.sql'), 'utf8'));
  return db;
}

export const helpdeskRelations = {
  'Organization.members': { through: { table: 'organization_members', source_key: 'organization_id', target_key: 'user_id' } },
  'Ticket.tags': { through: { table: 'ticket_tags', source_key: 'ticket_id', target_key: 'tag_id' } },
};
