// RFC 8288 `Link` headers, as registries page their listings with them (distribution's catalog and tags, ACR, the
// referrers API): a real parser, since a rel is a list of relation types and a comma inside `<…>` or a quoted string
// does not separate link-values.
import { ArchiveError } from "../../errors.js";

// A Link header with a few link-values is well under 1 KiB; undici already refuses headers past 16 KiB in all.
const MAX_LINK_HEADER_LENGTH = 8 * 1024;

export interface LinkValue {
  target: string;
  /** Relation types, lower case (the rel parameter is a space-separated list). */
  rels: string[];
}

/**
 * Parses an RFC 8288 `Link` header: link-values separated by commas (a comma inside `<…>` or a quoted string is
 * not a separator), each `<target>` followed by `; param` or `; param=token` or `; param="quoted"`. Only the first
 * rel parameter of a link-value counts (RFC 8288 §3.3). One pass over the header; malformed link-values are skipped.
 * Throws REGISTRY_ERROR for a header longer than MAX_LINK_HEADER_LENGTH.
 */
export function parseLinkHeader(header: string | null): LinkValue[] {
  if (!header) return [];
  if (header.length > MAX_LINK_HEADER_LENGTH)
    throw new ArchiveError("REGISTRY_ERROR", `the registry sent a Link header of ${header.length} characters`);
  const links: LinkValue[] = [];
  const n = header.length;
  let i = 0;
  const isSpace = (c: string | undefined) => c === " " || c === "\t";
  const skipSpace = () => {
    while (i < n && isSpace(header[i])) i++;
  };
  // Past the end of the current link-value (its next top-level comma), after a malformed part.
  const skipValue = () => {
    while (i < n && header[i] !== ",") {
      if (header[i] === '"') readQuoted();
      else i++;
    }
  };
  const readQuoted = () => {
    let value = "";
    i++; // the opening quote
    while (i < n && header[i] !== '"') {
      if (header[i] === "\\" && i + 1 < n) i++;
      value += header[i];
      i++;
    }
    i++; // the closing quote
    return value;
  };
  const readToken = () => {
    const start = i;
    while (i < n && !isSpace(header[i]) && header[i] !== ";" && header[i] !== "," && header[i] !== "=") i++;
    return header.slice(start, i);
  };
  while (i < n) {
    while (i < n && (isSpace(header[i]) || header[i] === ",")) i++;
    if (i >= n) break;
    if (header[i] !== "<") {
      skipValue();
      continue;
    }
    const end = header.indexOf(">", i + 1);
    if (end < 0) break;
    const target = header.slice(i + 1, end).trim();
    i = end + 1;
    let rels: string[] | undefined;
    for (;;) {
      skipSpace();
      if (i >= n || header[i] === ",") break;
      if (header[i] !== ";") {
        skipValue();
        break;
      }
      i++;
      skipSpace();
      const name = readToken().toLowerCase();
      skipSpace();
      let value = "";
      if (header[i] === "=") {
        i++;
        skipSpace();
        value = header[i] === '"' ? readQuoted() : readToken();
      }
      if (name === "rel" && rels === undefined)
        rels = value
          .toLowerCase()
          .split(/[ \t]+/)
          .filter((r) => r !== "");
    }
    links.push({ target, rels: rels ?? [] });
  }
  return links;
}

/** The target of the first link-value whose relation types include "next" (relative targets stay relative). */
export function parseNextLink(header: string | null): string | undefined {
  return parseLinkHeader(header).find((link) => link.rels.includes("next"))?.target;
}
