/** The workflow bundle's entry: deterministic code only, activities by type. */
export { jobWorkflow } from './job';
export { jobTargetsWorkflow } from './targets';
export { jobPartWorkflow } from './part';
