/**
 * The requests of one target, from (in order) the job's handler on the worker, its [jobs.<name>] template
 * in the config, or the default of each declared capability.
 */
import type { JobDef } from '../artifact/types';
import type { JobTemplate } from '../config/types';
import { PermanentError } from '../errors';
import type { EffectRequest } from './types';
import { evaluateFieldMapping, parseFieldMapping } from '../artifact/mapping';
import { renderTemplate, renderValue, type TemplateScope } from './template';

type Row = Record<string, unknown>;

export interface HandlerArgs {
  job: string;
  operation: string;
  entity: string;
  trigger: Row;
  target: Row;
}

export type JobHandler = (
  args: HandlerArgs,
) => EffectRequest | EffectRequest[] | null | undefined | Promise<EffectRequest | EffectRequest[] | null | undefined>;

export async function buildRequests(
  job: JobDef,
  args: HandlerArgs,
  handler: JobHandler | undefined,
  template: JobTemplate | undefined,
): Promise<EffectRequest[]> {
  if (handler) {
    const out = await handler(args);
    return out == null ? [] : Array.isArray(out) ? out : [out];
  }
  return job.capabilities.map((capability) => fromTemplateOrDefault(capability, job, args, template));
}

function fromTemplateOrDefault(capability: string, job: JobDef, args: HandlerArgs, template: JobTemplate | undefined): EffectRequest {
  const scope: TemplateScope = {
    trigger: args.trigger,
    data: args.trigger,
    target: args.target,
    job: args.job,
    operation: args.operation,
    entity: args.entity,
  };
  const t = (key: keyof JobTemplate): string | undefined =>
    typeof template?.[key] === 'string' ? renderTemplate(template[key] as string, scope) : undefined;

  if (capability === 'email.send') {
    const to = t('to') ?? (typeof args.target.email === 'string' ? args.target.email : undefined);
    if (!to) throw new PermanentError(`job ${job.name}: target has no email address and [jobs.${job.name}] sets no "to"`);
    return {
      capability,
      to,
      from: t('from'),
      subject: t('subject') ?? `${args.entity} ${args.operation}d: ${job.name}`,
      text: t('text') ?? defaultText(args),
      html: t('html'),
    };
  }
  if (capability.startsWith('http.')) {
    const url = t('url');
    if (!url) throw new PermanentError(`job ${job.name}: ${capability} needs a url in [jobs.${job.name}] or a handler`);
    return {
      capability: capability as 'http.post',
      url,
      method: t('method'),
      headers: template?.headers ? (renderValue(template.headers, scope) as Record<string, string>) : undefined,
      body:
        template?.body !== undefined
          ? renderValue(template.body, scope)
          : { job: args.job, operation: args.operation, entity: args.entity, record: args.trigger },
    };
  }
  if (capability === 'entity.create') {
    if (!job.target_entity) throw new PermanentError(`job ${job.name}: entity.create without target_entity`);
    const fields = Object.fromEntries(
      Object.entries(job.field_mappings ?? {}).map(([field, expr]) => [field, evaluateFieldMapping(parseFieldMapping(expr), args.trigger)]),
    );
    return { capability, entity: job.target_entity, fields };
  }
  throw new PermanentError(`job ${job.name}: no default request for capability ${capability}; register a handler`);
}

/**
 * The entity, the operation and the record's id, nothing else: a record's other columns may be a token or
 * a hash. A [jobs.<name>] text template (`{{trigger.field}}`) or a handler adds fields by name.
 */
function defaultText(args: HandlerArgs): string {
  const id = args.trigger.id;
  return `${args.entity} ${args.operation} (job ${args.job})\n\nid: ${id === undefined || id === null ? '-' : String(id)}\n`;
}
