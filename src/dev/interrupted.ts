/** The dev stack's start was aborted (Ctrl-C while starting): what had started was stopped. Apart from stack.ts so
 * the admin entry can export it without loading the stack. */
export class DevStackInterrupted extends Error {
  constructor() {
    super('interrupted while starting; stopped everything that had started');
    this.name = 'DevStackInterrupted';
  }
}
