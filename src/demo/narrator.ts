/** The demo's voice: numbered scenes, and indented lines saying who did what, for whom, and the outcome. */
export class Narrator {
  readonly lines: string[] = [];
  #scene = 0;
  readonly #onLine: ((line: string) => void) | undefined;

  constructor(onLine?: (line: string) => void) {
    this.#onLine = onLine;
  }

  #emit(line: string): void {
    this.lines.push(line);
    this.#onLine?.(line);
  }

  /** A plain line (title, cast, closing words). */
  say(line = ''): void {
    this.#emit(line);
  }

  /** A new scene: a number and a title. */
  scene(title: string): void {
    this.#scene += 1;
    this.#emit('');
    this.#emit(`${this.#scene}. ${title}`);
  }

  /** Something that was allowed. */
  allowed(text: string): void {
    this.#emit(`   ALLOWED  ${text}`);
  }

  /** Something that was refused, with the code that says why. */
  refused(text: string, code: string, why?: string): void {
    this.#emit(`   REFUSED  ${text}: ${code}${why ? ` (${why})` : ''}`);
  }

  /** What happened, not a decision. */
  note(text: string): void {
    this.#emit(`            ${text}`);
  }
}
