/** reportJob: the job-level log line, written once when the workflow decides the job's end. */
import type { Artifact } from '../artifact/types';
import type { Logger } from '../log';
import type { JobReport } from '../workflows/types';
import { countJob } from './metrics';

/** The fields every job line carries: job_id, name, capability, duration_ms; attempts, last_error, total_duration. */
export function createReportJob(deps: { logger: Logger; artifact: Artifact }) {
  return async function reportJob(report: JobReport): Promise<void> {
    const capability = deps.artifact.jobs[report.job]?.capabilities.join(',');
    const fields = {
      job_id: report.workflowId,
      name: report.job,
      capability,
      targets: report.targets,
      completed: report.completed,
      dead: report.dead,
    };
    const duration = Date.now() - report.startedAt;
    countJob(report.state === 'completed' ? 'completed' : 'dead', { job: report.job });
    if (report.state === 'completed') deps.logger.info('job.completed', { ...fields, duration_ms: duration });
    else
      deps.logger.error('job.dead_letter', { ...fields, attempts: report.attempts, last_error: report.reason, total_duration: duration });
  };
}
