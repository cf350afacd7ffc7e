// A JSON blob of the shape `{ ...head, <key>: [ …items ] }` written as it is produced: items are appended one at a
// time and staged as blocks of about `blockBytes` while they come, and the head, known only at the end (totals
// counted over the items), is staged last but committed first. Memory holds one block, whatever the item count.
// The bytes are exactly `JSON.stringify(value, null, 2) + "\n"` (pretty) or `JSON.stringify(value)`, as
// writeJsonBlob writes them. Nothing is visible until the commit: a crash leaves uncommitted blocks, which Azure
// discards, never a half-written blob.
import { createHash, randomBytes } from "node:crypto";
import type { BlockBlobClient, ContainerClient } from "@azure/storage-blob";
import { storageError, storageErrorCode } from "./storageError.js";

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

// ---- Reading it back --------------------------------------------------------------------------------------------

export interface JsonArrayBlobReadOptions {
  /** Bytes of the first ranged read (default 64 KiB: a head fits, and a head-only read stops there). */
  firstRangeBytes?: number;
  /** Bytes of each later ranged read (default 4 MiB). */
  rangeBytes?: number;
  /** The longest head, and the longest item, in characters (default 4 Mi each): a forged blob fails, never fills memory. */
  maxHeadChars?: number;
  maxItemChars?: number;
  abortSignal?: AbortSignal;
}

export interface JsonArrayBlobContents {
  /** Every key before the array (all of them, for a blob JsonArrayBlobWriter wrote: the array is its last key). */
  head: Record<string, unknown>;
  /** The array's items, in order, parsed one at a time as ranged reads bring them; never the whole blob in memory. */
  items: AsyncGenerator<unknown, void, undefined>;
}

/**
 * Opens a JSON blob of the shape JsonArrayBlobWriter writes, `{ ...head, <key>: [ …items ] }`, pretty or compact, and
 * reads it in ranges: the head first, then the items as they are iterated (stop iterating and nothing more is read).
 * Undefined when the blob does not exist. A blob that is not such an object, or that changes between two ranges
 * (If-Match on the first read's ETag), fails with STORAGE_ERROR.
 */
export async function openJsonArrayBlob(
  container: ContainerClient,
  name: string,
  key: string,
  options: JsonArrayBlobReadOptions = {},
): Promise<JsonArrayBlobContents | undefined> {
  const blob = container.getBlockBlobClient(name);
  const ranges = rangedText(blob, options);
  const scanner = new JsonArrayScanner(key, name, options);
  try {
    while (scanner.head === undefined) {
      const next = await ranges.next();
      if (next.done) scanner.end();
      else if (next.value === undefined) return undefined;
      else scanner.feed(next.value);
    }
  } catch (error) {
    await ranges.return(undefined);
    throw storageError(`cannot read ${name}`, error);
  }
  const head = scanner.head!;
  async function* items(): AsyncGenerator<unknown, void, undefined> {
    try {
      for (;;) {
        yield* scanner.take();
        if (scanner.done) return;
        const next = await ranges.next();
        if (next.done) scanner.end();
        else if (next.value !== undefined) scanner.feed(next.value);
      }
    } catch (error) {
      throw storageError(`cannot read ${name}`, error);
    } finally {
      await ranges.return(undefined);
    }
  }
  return { head, items: items() };
}

/** The blob's text, range by range (undefined once: the blob does not exist). UTF-8 decoded across range ends. */
async function* rangedText(
  blob: BlockBlobClient,
  options: JsonArrayBlobReadOptions,
): AsyncGenerator<string | undefined, void, undefined> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let offset = 0;
  let size: number | undefined;
  let etag: string | undefined;
  let count = options.firstRangeBytes ?? 64 * 1024;
  while (size === undefined || offset < size) {
    let response;
    try {
      response = await blob.download(offset, count, {
        ...(etag && { conditions: { ifMatch: etag } }),
        ...(options.abortSignal && { abortSignal: options.abortSignal }),
      });
    } catch (error) {
      const { statusCode } = storageErrorCode(error);
      if (offset === 0 && statusCode === 404) {
        yield undefined;
        return;
      }
      // An empty blob has no range 0-…: it is simply empty (and then not JSON).
      if (offset === 0 && statusCode === 416) break;
      throw error;
    }
    const bytes = await readAll(response.readableStreamBody);
    etag ??= response.etag;
    // `bytes <first>-<last>/<size>`; without it the answer was the whole blob.
    const total = /\/(\d+)$/.exec(response.contentRange ?? "")?.[1];
    size = total !== undefined ? Number(total) : offset + bytes.length;
    if (bytes.length === 0) break;
    offset += bytes.length;
    yield decoder.decode(bytes, { stream: true });
    count = options.rangeBytes ?? DEFAULT_BLOCK_BYTES;
  }
  const rest = decoder.decode();
  if (rest) yield rest;
}

async function readAll(body: NodeJS.ReadableStream | undefined): Promise<Buffer> {
  const chunks: Buffer[] = [];
  if (body) for await (const chunk of body) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/**
 * Splits `{ …head, "<key>": [ item, item, … ] }` as text arrives, without parsing the whole: tracks strings (and their
 * escapes) and nesting depth, keeps the text before the array as the head and cuts each item at its depth. Depth 1 is
 * inside the object, 2 inside the array.
 */
class JsonArrayScanner {
  head: Record<string, unknown> | undefined;
  done = false;
  private mode: "head" | "items" | "after" = "head";
  private depth = 0;
  private inString = false;
  private escaped = false;
  private headText = "";
  /** The item being cut (undefined between items), and whether it is a scalar (ended by `,` or `]`). */
  private itemText: string | undefined;
  private scalar = false;
  private ready: unknown[] = [];
  private readonly maxHeadChars: number;
  private readonly maxItemChars: number;

  constructor(
    private readonly key: string,
    private readonly name: string,
    options: JsonArrayBlobReadOptions,
  ) {
    this.maxHeadChars = options.maxHeadChars ?? 4 * 1024 * 1024;
    this.maxItemChars = options.maxItemChars ?? 4 * 1024 * 1024;
  }

  /** The items cut so far, once each. */
  *take(): Generator<unknown, void, undefined> {
    const ready = this.ready;
    this.ready = [];
    yield* ready;
  }

  end(): void {
    if (this.mode !== "after" || this.depth !== 0) throw new SyntaxError(`${this.name} ends inside its JSON`);
    this.done = true;
  }

  feed(text: string): void {
    let start = 0; // where the text being kept (head or item) starts in this chunk
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === "\\") this.escaped = true;
        else if (c === '"') this.inString = false;
        continue;
      }
      if (this.mode === "head") {
        if (this.depth === 0) {
          if (c === "{") this.depth = 1;
          else if (!/\s/.test(c!)) throw new SyntaxError(`${this.name} is not a JSON object`);
        } else if (c === '"') this.inString = true;
        else if (c === "{" || c === "[") {
          this.depth++;
          if (c === "[" && this.depth === 2 && this.isKeyBefore(this.headText + text.slice(start, i))) {
            this.headText += text.slice(start, i);
            this.head = this.parseHead();
            this.mode = "items";
            start = i + 1;
          }
        } else if ((c === "}" || c === "]") && --this.depth === 0) {
          // The object ended without the array: all of it is the head, and there are no items.
          this.head = JSON.parse(this.headText + text.slice(start, i + 1)) as Record<string, unknown>;
          this.mode = "after";
        }
        continue;
      }
      if (this.mode === "after") {
        // Only the object's closing brace, and white space.
        if (c === "}" && this.depth === 1) this.depth = 0;
        else if (!/\s/.test(c!)) throw new SyntaxError(`${this.name} has more after its array "${this.key}"`);
        continue;
      }
      // Items: between two of them at depth 2, or inside one.
      if (this.itemText === undefined) {
        if (c === "," || /\s/.test(c!)) continue;
        if (c === "]") {
          this.depth--;
          this.mode = "after";
          continue;
        }
        this.itemText = "";
        start = i;
        this.scalar = c !== "{" && c !== "[";
        if (c === '"') this.inString = true;
        else if (!this.scalar) this.depth++;
        continue;
      }
      if (c === '"') this.inString = true;
      else if (c === "{" || c === "[") this.depth++;
      else if (c === "}" || c === "]") {
        if (this.depth === 2) {
          // `]` right after a scalar item: the item and the array end.
          this.cutItem(text.slice(start, i));
          this.depth--;
          this.mode = "after";
        } else if (--this.depth === 2) this.cutItem(text.slice(start, i + 1));
      } else if (c === "," && this.depth === 2 && this.scalar) this.cutItem(text.slice(start, i));
    }
    if (this.mode === "head") {
      this.headText += text.slice(start);
      if (this.headText.length > this.maxHeadChars)
        throw new RangeError(`${this.name}: the head is over ${this.maxHeadChars} characters`);
    } else if (this.itemText !== undefined) {
      this.itemText += text.slice(start);
      if (this.itemText.length > this.maxItemChars)
        throw new RangeError(`${this.name}: an item is over ${this.maxItemChars} characters`);
    }
  }

  private cutItem(last: string): void {
    const text = this.itemText + last;
    this.itemText = undefined;
    if (text.length > this.maxItemChars)
      throw new RangeError(`${this.name}: an item is over ${this.maxItemChars} characters`);
    this.ready.push(JSON.parse(text));
  }

  /** Whether the text before a `[` at depth 2 ends with `"<key>":`. */
  private isKeyBefore(text: string): boolean {
    const match = /"((?:[^"\\]|\\.)*)"\s*:\s*$/.exec(text);
    return match !== null && JSON.parse(`"${match[1]}"`) === this.key;
  }

  /** The head: the text before `"<key>":`, closed. */
  private parseHead(): Record<string, unknown> {
    const before = this.headText.replace(/"((?:[^"\\]|\\.)*)"\s*:\s*$/, "").replace(/,\s*$/, "");
    return JSON.parse(`${before}}`) as Record<string, unknown>;
  }
}
