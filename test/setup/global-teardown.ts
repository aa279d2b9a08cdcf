export default async function globalTeardown(): Promise<void> {
  const stack = (globalThis as Record<string, unknown>).__forgeStack as
    { temporal: { stop(): Promise<void> }; db: { stop(): Promise<void> } } | undefined;
  if (!stack) return;
  await Promise.all([stack.temporal.stop(), stack.db.stop()]);
}
