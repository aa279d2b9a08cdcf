/** One parametrised statement: SQL text built here, in src/sql, and its values as bind parameters. */
export interface Statement {
  text: string;
  values: unknown[];
}
