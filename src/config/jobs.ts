import type { ConfigInputs } from './inputs';
import type { Reader } from './reader';
import type { Rate } from './rate';
import type { JobTemplate } from './types';
import { childPath, isTable, typeName, type Table } from './values';

const STRING_FIELDS = ['subject', 'text', 'html', 'to', 'from', 'url', 'method'] as const;

/** [jobs]: pipeline settings, and every sub-table is the template of the job it is named after. */
export function readJobs(reader: Reader, doc: Table): ConfigInputs['jobs'] {
  const section = reader.table(doc, 'jobs', 'jobs') ?? {};
  const templates: Record<string, JobTemplate> = {};
  const rates: Record<string, Rate> = {};
  for (const [name, value] of Object.entries(section)) {
    if (!isTable(value)) continue;
    const path = childPath('jobs', name);
    const { rate: _rate, ...fields } = value;
    const template = checkTemplate(reader, reader.deep(fields, path) as JobTemplate, path);
    Object.defineProperty(templates, name, { value: template, enumerable: true, writable: true, configurable: true });
    const rate = reader.rate(value, 'rate', childPath(path, 'rate'));
    if (rate) Object.defineProperty(rates, name, { value: rate, enumerable: true, writable: true, configurable: true });
  }
  return {
    concurrency: reader.integer(section, 'concurrency', 'jobs.concurrency', { min: 1 }),
    timeoutMs: reader.duration(section, 'timeout', 'jobs.timeout'),
    maxAttempts: reader.integer(section, 'max_attempts', 'jobs.max_attempts', { min: 1 }),
    taskQueue: reader.string(section, 'task_queue', 'jobs.task_queue'),
    maxRecordBytes: reader.integer(section, 'max_record_bytes', 'jobs.max_record_bytes', { min: 1 }),
    maxTargets: reader.integer(section, 'max_targets', 'jobs.max_targets', { min: 1 }),
    startDeadlineMs: reader.duration(section, 'start_deadline', 'jobs.start_deadline'),
    completedRetentionMs: reader.duration(section, 'completed_retention', 'jobs.completed_retention'),
    templates,
    rates,
  };
}

/** Known fields must have the type the effect builders expect; other keys pass through untouched. */
function checkTemplate(reader: Reader, template: JobTemplate, path: string): JobTemplate {
  for (const field of STRING_FIELDS) {
    const value = template[field];
    if (value !== undefined && typeof value !== 'string')
      reader.problem(childPath(path, field), `expected a string, got ${typeName(value)}`);
  }
  const headers = template.headers;
  if (headers !== undefined) {
    if (!isTable(headers)) reader.problem(childPath(path, 'headers'), `expected a table of strings, got ${typeName(headers)}`);
    else {
      for (const [name, value] of Object.entries(headers)) {
        // undefined: an env: variable that is not set, already reported
        if (value !== undefined && typeof value !== 'string')
          reader.problem(childPath(childPath(path, 'headers'), name), `expected a string, got ${typeName(value)}`);
      }
    }
  }
  return template;
}
