// A JSON blob of the shape `{ ...head, <key>: [ …items ] }` written as it is produced: items are appended one at a
// time and staged as blocks of about `blockBytes` while they come, and the head, known only at the end (totals
// counted over the items), is staged last but committed first. Memory holds one block, whatever the item count.
// The bytes are exactly `JSON.stringify(value, null, 2) + "\n"` (pretty) or `JSON.stringify(value)`, as
// writeJsonBlob writes them. Nothing is visible until the commit: a crash leaves uncommitted blocks, which Azure
// discards, never a half-written blob.
import { createHash, randomBytes } from "node:crypto";
import type { BlockBlobClient, ContainerClient } from "@azure/storage-blob";
import { storageErrorCode } from "./storageError.js";

export interface JsonArrayBlobWriterOptions {
  /** Indented, with a final newline (for blobs people read), as writeJsonBlob's `pretty`. */
  pretty?: boolean;
  /** Bytes gathered before they are staged as one block (default 4 MiB). */
  blockBytes?: number;
  abortSignal?: AbortSignal;
}

export interface JsonArrayBlobCommitOptions {
  /** Write once: an existing blob is kept, and the commit answers false. */
  ifNotExists?: boolean;
  metadata?: Record<string, string>;
}

const DEFAULT_BLOCK_BYTES = 4 * 1024 * 1024;
// Azure allows 50,000 committed blocks per blob; the head takes one.
const MAX_BLOCKS = 50_000;

export class JsonArrayBlobWriter {
  private readonly blob: BlockBlobClient;
  private readonly uploadId = randomBytes(6).toString("hex");
  private readonly blockBytes: number;
  private readonly pretty: boolean;
  /** Staged item blocks, in order (the head's id is made at the commit). */
  private readonly blockIds: string[] = [];
  private pending: string[] = [];
  private pendingBytes = 0;
  private items = 0;
  private committed = false;

  constructor(
    container: ContainerClient,
    readonly name: string,
    /** The array's key: the head's last key in the blob. */
    private readonly key: string,
    private readonly options: JsonArrayBlobWriterOptions = {},
  ) {
    this.blob = container.getBlockBlobClient(name);
    this.blockBytes = options.blockBytes ?? DEFAULT_BLOCK_BYTES;
    if (!(this.blockBytes >= 1)) throw new RangeError(`blockBytes must be ≥ 1, got ${this.blockBytes}`);
    this.pretty = options.pretty ?? false;
  }

  /** Items appended so far. */
  get count(): number {
    return this.items;
  }

  /** Appends one item of the array; stages a block when enough bytes have gathered. */
  async append(item: unknown): Promise<void> {
    if (this.committed) throw new Error(`${this.name} is committed already`);
    // As JSON.stringify renders an array element: what has no JSON form is null.
    const json = JSON.stringify(item, null, this.pretty ? 2 : undefined) ?? "null";
    // Inside `{ "<key>": [ … ] }` an element is indented by two levels; JSON escapes newlines within strings, so every
    // newline here is a line break of the structure.
    const rendered = this.pretty ? `    ${json.replaceAll("\n", "\n    ")}` : json;
    const text = this.items === 0 ? rendered : `${this.pretty ? ",\n" : ","}${rendered}`;
    this.items++;
    this.pending.push(text);
    this.pendingBytes += Buffer.byteLength(text);
    if (this.pendingBytes >= this.blockBytes) await this.stagePending();
  }

  /**
   * Stages the rest and the head, and commits head + items + the closing brackets. Answers true, or, with
   * `ifNotExists`, false when the blob exists already (it is kept as it is).
   */
  async commit(head: Record<string, unknown>, options: JsonArrayBlobCommitOptions = {}): Promise<boolean> {
    if (this.committed) throw new Error(`${this.name} is committed already`);
    this.committed = true;
    const [opening, closing] = this.frame(head);
    this.pending.push(closing);
    await this.stagePending();
    const headId = this.blockId("h");
    await this.stage(headId, Buffer.from(opening));
    try {
      await this.blob.commitBlockList([headId, ...this.blockIds], {
        blobHTTPHeaders: { blobContentType: "application/json" },
        ...(options.metadata && { metadata: options.metadata }),
        ...(options.ifNotExists && { conditions: { ifNoneMatch: "*" } }),
        ...(this.options.abortSignal && { abortSignal: this.options.abortSignal }),
      });
      return true;
    } catch (error) {
      if (!options.ifNotExists) throw error;
      const { statusCode } = storageErrorCode(error);
      if (statusCode === 409 || statusCode === 412) return false;
      // Another writer committed first, which discarded our uncommitted blocks: its blob is the one.
      if (statusCode === 400 && (await this.blob.exists())) return false;
      throw error;
    }
  }

  /** What comes before the items and after them: `JSON.stringify` of the head with an empty array, cut open. */
  private frame(head: Record<string, unknown>): [string, string] {
    const rest = { ...head };
    delete rest[this.key];
    const whole = JSON.stringify({ ...rest, [this.key]: [] }, null, this.pretty ? 2 : undefined);
    const emptyTail = this.pretty ? "[]\n}" : "[]}";
    if (!whole.endsWith(emptyTail)) throw new TypeError(`the head of ${this.name} does not serialize as an object`);
    const end = this.pretty ? "\n" : "";
    if (this.items === 0) return [whole + end, ""];
    const open = whole.slice(0, -emptyTail.length) + (this.pretty ? "[\n" : "[");
    return [open, (this.pretty ? "\n  ]\n}" : "]}") + end];
  }

  private async stagePending(): Promise<void> {
    const body = Buffer.from(this.pending.join(""));
    this.pending = [];
    this.pendingBytes = 0;
    if (body.length === 0) return;
    if (this.blockIds.length + 1 >= MAX_BLOCKS)
      throw new RangeError(`${this.name} needs more than ${MAX_BLOCKS} blocks: raise blockBytes`);
    const id = this.blockId(String(this.blockIds.length));
    await this.stage(id, body);
    this.blockIds.push(id);
  }

  private async stage(id: string, body: Buffer): Promise<void> {
    await this.blob.stageBlock(id, body, body.length, {
      transactionalContentMD5: createHash("md5").update(body).digest(),
      ...(this.options.abortSignal && { abortSignal: this.options.abortSignal }),
    });
  }

  /** Block ids of one blob must all have the same length; the upload id keeps two writers' blocks apart. */
  private blockId(n: string): string {
    return Buffer.from(`${this.uploadId}-${n.padStart(6, "0")}`).toString("base64");
  }
}
