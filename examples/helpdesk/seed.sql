-- Helpdesk seed data for the schema the artifact's migration creates (Forge's runtime applies the same
-- migration.up). Fixed ids, so tests can refer to rows by id: organizations 10000000-…, users 20000000-…,
-- tags 30000000-…, tickets 40000000-….
-- The compiler stores the many relation Organization.members as one column, organizations.members_id:
-- each organization has exactly one member (Alice for Acme, Gary for Globex), and forge-jobs follows it.
-- users.avatar_url and tickets.tags_id are NOT NULL in that migration, so every row fills them.

INSERT INTO users (id, name, email, role, avatar_url) VALUES
  ('20000000-0000-4000-8000-000000000001', 'Ada Admin',      'ada.admin@acme.test',       'admin',    'https://avatars.example/ada.png'),
  ('20000000-0000-4000-8000-000000000002', 'Alice Agent',    'alice.agent@acme.test',     'agent',    'https://avatars.example/alice.png'),
  ('20000000-0000-4000-8000-000000000003', 'Bob Agent',      'bob.agent@acme.test',       'agent',    'https://avatars.example/bob.png'),
  ('20000000-0000-4000-8000-000000000004', 'Carol Customer', 'carol.customer@acme.test',  'customer', 'https://avatars.example/carol.png'),
  ('20000000-0000-4000-8000-000000000005', 'Dave Customer',  'dave.customer@acme.test',   'customer', 'https://avatars.example/dave.png'),
  ('20000000-0000-4000-8000-000000000011', 'Gina Admin',     'gina.admin@globex.test',    'admin',    'https://avatars.example/gina.png'),
  ('20000000-0000-4000-8000-000000000012', 'Gary Agent',     'gary.agent@globex.test',    'agent',    'https://avatars.example/gary.png'),
  ('20000000-0000-4000-8000-000000000013', 'Grace Agent',    'grace.agent@globex.test',   'agent',    'https://avatars.example/grace.png'),
  ('20000000-0000-4000-8000-000000000014', 'Hank Customer',  'hank.customer@globex.test', 'customer', 'https://avatars.example/hank.png'),
  ('20000000-0000-4000-8000-000000000015', 'Hugo Customer',  'hugo.customer@globex.test', 'customer', 'https://avatars.example/hugo.png');

INSERT INTO organizations (id, name, slug, plan, owner_id, members_id) VALUES
  ('10000000-0000-4000-8000-000000000001', 'Acme',   'acme',   'pro',  '20000000-0000-4000-8000-000000000001', '20000000-0000-4000-8000-000000000002'),
  ('10000000-0000-4000-8000-000000000002', 'Globex', 'globex', 'free', '20000000-0000-4000-8000-000000000011', '20000000-0000-4000-8000-000000000012');

INSERT INTO tags (id, name, color) VALUES
  ('30000000-0000-4000-8000-000000000001', 'bug',     '#d73a4a'),
  ('30000000-0000-4000-8000-000000000002', 'billing', '#0e8a16'),
  ('30000000-0000-4000-8000-000000000003', 'urgent',  '#b60205');

-- One existing ticket per organization, so comment jobs can be exercised without creating one first.
INSERT INTO tickets (id, subject, description, status, priority, tags_id, author_id, assignee_id, org_id) VALUES
  ('40000000-0000-4000-8000-000000000001', 'Cannot log in', 'The login page says my password is wrong.', 'open', 'high',
   '30000000-0000-4000-8000-000000000001', '20000000-0000-4000-8000-000000000004', '20000000-0000-4000-8000-000000000002',
   '10000000-0000-4000-8000-000000000001'),
  ('40000000-0000-4000-8000-000000000002', 'Invoice total is off', 'March invoice charges two seats too many.', 'open', 'medium',
   '30000000-0000-4000-8000-000000000002', '20000000-0000-4000-8000-000000000014', '20000000-0000-4000-8000-000000000012',
   '10000000-0000-4000-8000-000000000002');
