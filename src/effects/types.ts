/** What a job asks a provider to do for one target. Built by a handler, a config template or a default. */

export interface EmailRequest {
  capability: 'email.send';
  /** one address per value: a value naming several (a comma, a group) is a permanent error */
  to: string | string[];
  cc?: string | string[];
  bcc?: string | string[];
  subject: string;
  text?: string;
  html?: string;
  from?: string;
  headers?: Record<string, string>;
}

export interface HttpRequest {
  capability: 'http.get' | 'http.post' | 'http.put' | 'http.delete' | 'http.call';
  url: string;
  /** required for http.call; implied by the capability otherwise */
  method?: string;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface EntityCreateRequest {
  capability: 'entity.create';
  entity: string;
  fields: Record<string, unknown>;
}

export type EffectRequest = EmailRequest | HttpRequest | EntityCreateRequest;

/** Identity of one effect: the same key on every retry of the same job, target and request. */
export interface EffectContext {
  /** stable per (workflow, target, request index): Message-ID, Idempotency-Key and the entity.create ledger use it */
  idempotencyKey: string;
  job: string;
  workflowId: string;
  attempt: number;
  /** epoch ms by which this attempt's send must be over (set by the courier, src/courier); HTTP aborts then */
  deadline?: number;
}

export interface EffectResult {
  capability: string;
  /** small summary for history: message id, HTTP status, inserted id; never secrets */
  detail?: Record<string, unknown>;
}
