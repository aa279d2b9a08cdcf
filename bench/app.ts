/**
 * The bench's application: schema, data, artifact and runtime config. One artifact serves every scenario:
 *   notify_agents     Ticket create → Ticket.org.members where role == "agent" → email.send   (1 target: org 1)
 *   ping_subscribers  List update   → List.subscribers                         → http.post    (10,000 targets)
 *   region_agents     no hook; Ticket.org.region.orgs.members where role == "agent": 4 hops over 10,000 members
 *   mail_campaign     Campaign update → Campaign.recipients                     → email.send   (100,000; 1,000,000)
 */
import type { Pool } from 'pg';
import { compiled, f, artifact as newArtifact } from '../test/support/artifact-builder';

export const FANOUT_TARGETS = 10_000;
/** recipients of campaign 1 (the scale scenario); campaign 2 gets 1,000,000 when BENCH_FANOUT_1M=1 */
export const CAMPAIGN_TARGETS = 100_000;
export const NEEDS_MEMBERS = 10_000;
/** the org whose one agent receives every notify_agents mail */
export const SOLO_ORG = 1;
export const SOLO_AGENT = 'agent@solo.bench.test';
/** an org of the big region, for the needs scenario's trigger */
export const REGION_ORG = 2;

const agents = f.eq('role', 'agent');

export const artifact = compiled(
  newArtifact()
    .entity('Region', 'regions', ['name'])
    .entity('Org', 'orgs', ['name'])
    .entity('Member', 'members', ['email', 'role'])
    .entity('Ticket', 'tickets', ['subject'])
    .entity('List', 'lists', ['title'])
    .entity('Subscriber', 'subscribers', ['email'])
    .entity('Campaign', 'campaigns', ['title'])
    .entity('Recipient', 'recipients', ['email'])
    .many('Region', 'orgs', 'Org', 'region_id')
    .single('Org', 'region', 'Region')
    .many('Org', 'members', 'Member', 'org_id')
    .single('Ticket', 'org', 'Org')
    .many('List', 'subscribers', 'Subscriber', 'list_id')
    .many('Campaign', 'recipients', 'Recipient', 'campaign_id')
    .job('notify_agents', 'Ticket', 'Ticket.org.members', agents)
    .job('ping_subscribers', 'List', 'List.subscribers', { capabilities: ['http.post'] })
    .job('mail_campaign', 'Campaign', 'Campaign.recipients')
    .job('region_agents', 'Ticket', 'Ticket.org.region.orgs.members', agents)
    .hook('Ticket', 'create', ['notify_agents'])
    .hook('List', 'update', ['ping_subscribers'])
    .hook('Campaign', 'update', ['mail_campaign']),
);

export const SCHEMA = `
CREATE TABLE regions (id serial PRIMARY KEY, name text NOT NULL);
CREATE TABLE orgs (id serial PRIMARY KEY, name text NOT NULL, region_id integer REFERENCES regions(id));
CREATE INDEX orgs_region_id ON orgs (region_id);
CREATE TABLE members (id serial PRIMARY KEY, org_id integer REFERENCES orgs(id), role text NOT NULL, email text NOT NULL);
CREATE INDEX members_org_id ON members (org_id);
CREATE TABLE tickets (id serial PRIMARY KEY, org_id integer REFERENCES orgs(id), subject text NOT NULL, body text);
CREATE TABLE lists (id serial PRIMARY KEY, title text NOT NULL);
CREATE TABLE subscribers (id serial PRIMARY KEY, list_id integer REFERENCES lists(id), email text NOT NULL);
CREATE INDEX subscribers_list_id ON subscribers (list_id);

INSERT INTO regions (name) VALUES ('solo'), ('big');
-- org 1: one agent and one customer, in its own region
INSERT INTO orgs (name, region_id) VALUES ('solo', 1);
INSERT INTO members (org_id, role, email) VALUES (1, 'agent', '${SOLO_AGENT}'), (1, 'customer', 'customer@solo.bench.test');
-- orgs 2..101: 100 orgs of 100 members each (half agents) in region 2
INSERT INTO orgs (name, region_id) SELECT 'org-' || g, 2 FROM generate_series(1, 100) g;
INSERT INTO members (org_id, role, email)
  SELECT 1 + o, CASE WHEN m % 2 = 0 THEN 'agent' ELSE 'customer' END, 'm' || o || '-' || m || '@big.bench.test'
  FROM generate_series(1, 100) o, generate_series(1, ${NEEDS_MEMBERS / 100}) m;
INSERT INTO lists (title) VALUES ('big');
INSERT INTO subscribers (list_id, email) SELECT 1, 's' || g || '@list.bench.test' FROM generate_series(1, ${FANOUT_TARGETS}) g;
CREATE TABLE campaigns (id serial PRIMARY KEY, title text NOT NULL);
CREATE TABLE recipients (id serial PRIMARY KEY, campaign_id integer REFERENCES campaigns(id), email text NOT NULL);
CREATE INDEX recipients_campaign_id ON recipients (campaign_id);
INSERT INTO campaigns (title) VALUES ('100k'), ('1m');
INSERT INTO recipients (campaign_id, email) SELECT 1, 'r' || g || '@campaign.bench.test' FROM generate_series(1, ${CAMPAIGN_TARGETS}) g;
ANALYZE;
`;

export async function seed(pool: Pool): Promise<void> {
  await pool.query(SCHEMA);
}

/** The raw runtime config (as forge.runtime.toml would give it) for client and worker alike. */
export function rawConfig(opts: {
  temporal: string;
  databaseUrl: string;
  smtpPort: number;
  httpUrl: string;
  taskQueue: string;
  concurrency?: number;
}) {
  return {
    database: { adapter: 'postgres', postgres: { url: opts.databaseUrl } },
    temporal: { address: opts.temporal },
    email: { host: '127.0.0.1', port: opts.smtpPort, from: 'bench@forge-jobs.test', tls: false },
    http: { allow: ['127.0.0.1'] },
    jobs: {
      task_queue: opts.taskQueue,
      // effects in flight per workflow (the fan-out test's setting; the default is 10)
      concurrency: opts.concurrency ?? 50,
      notify_agents: { subject: 'New ticket: {{trigger.subject}}', text: 'Ticket {{trigger.id}}: {{trigger.subject}}' },
      ping_subscribers: { url: `${opts.httpUrl}/ping/{{target.id}}` },
      mail_campaign: { subject: 'Campaign {{trigger.id}}', text: 'Hello {{target.email}}' },
      // the scale scenario's outage: each target tried 3 times (backoff 1 s and 4 s between), then dead
      max_attempts: 3,
      // 1,000,000 targets behind BENCH_FANOUT_1M=1; the default (100,000) stays the product's
      max_targets: 1_000_000,
    },
  };
}
