/** reportJob: the job-level log line, written once when the workflow decides the job's end. */
import type { Logger } from '../log';
import type { JobReport } from '../workflows/types';
import { countJob } from './metrics';

export function createReportJob(deps: { logger: Logger }) {
  return async function reportJob(report: JobReport): Promise<void> {
    const fields = { job_id: report.workflowId, name: report.job, targets: report.targets, completed: report.completed, dead: report.dead };
    const duration = Date.now() - report.startedAt;
    countJob(report.state === 'completed' ? 'completed' : 'dead', { job: report.job });
    if (report.state === 'completed') deps.logger.info('job.completed', { ...fields, duration_ms: duration });
    else deps.logger.error('job.dead_letter', { ...fields, last_error: report.reason, total_duration: duration });
  };
}
