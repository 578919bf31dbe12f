/**
 * A stream chunk's constant part (id, object, created, model, and `usage: null` when usage is streamed)
 * serialized once per response; each chunk then serializes only its choice.
 */
export class ChunkEnvelope {
  private readonly prefix: string;
  private readonly suffix: string;

  constructor(head: Readonly<Record<string, unknown>>, includeUsage: boolean) {
    const json = JSON.stringify({ ...head, choices: [], ...(includeUsage ? { usage: null } : {}) });
    const at = json.lastIndexOf('"choices":[]') + '"choices":['.length;
    this.prefix = json.slice(0, at);
    this.suffix = json.slice(at);
  }

  /** The chunk's JSON with this one choice. */
  withChoice(choice: object): string {
    return this.prefix + JSON.stringify(choice) + this.suffix;
  }
}
