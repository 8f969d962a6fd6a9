/** One numbered schema migration; each adapter keeps its own ordered list. */
export interface Migration {
  readonly version: number;
  /** `NNN_snake_name`, recorded beside the version. */
  readonly name: string;
  readonly sql: string;
}
