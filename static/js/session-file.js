// Reading a recorded session (`forkscope-session`, version 1: docs/api.md,
// "Recording"), in the browser, for /replay. Pure: a string (or a Blob)
// in, {header, snapshot, events} out, or a SessionError with the same code
// the server's reader gives (app/model/session_file.py):
//
//   line 1   {"format": "forkscope-session", "version": 1, ...}      the header
//   line 2   {"snapshot": <GET /api/state: seq, echo, processes>,     where it starts
//             "joined": [uids, in the order they were reaped]}          (optional)
//   line 3…  one event a line, as the Socket.IO `events` stream sent them,
//            seq = snapshot.seq + 1, + 2, … with no gap
//
// The checks, in this order, the first problem found being the answer:
// size (too_large), line 1 (not_jsonl → wrong_format → wrong_version),
// line 2 (truncated when it is missing, wrong_format when it is not a
// snapshot), then every event (not_jsonl, wrong_format, seq_gap). A last
// line without its "\n" that does not parse is a file cut mid-write
// (truncated); one that parses is whole. Every error carries params.line
// (1-based) where one applies, so the page can say where the file is wrong.

export const FORMAT = "forkscope-session";
export const VERSION = 1;
/** The page's own limit: a 100 MB recording is hours of a busy lab, and
 * JSON.parse of more would hold a phone's tab for seconds. */
export const PAGE_MAX_BYTES = 100 * 1024 * 1024;
/** How much of a file is read first to check its header: a 50 MB upload of
 * something else is refused without reading it all. */
const HEAD_BYTES = 64 * 1024;

/** Every code the reader can answer (the catalogues have replay.error.<code>). */
export const CODES = ["too_large", "not_jsonl", "wrong_format", "wrong_version", "truncated", "seq_gap"];

export class SessionError extends Error {
  constructor(code, params = {}) {
    super(`${code}${params.line ? ` (line ${params.line})` : ""}`);
    this.code = code;
    this.params = params;
  }
}

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Parse one line as a JSON object, or null if it is not one. */
function parseLine(text) {
  try {
    const value = JSON.parse(text);
    return isObject(value) ? value : null;
  } catch {
    return null;
  }
}

/** Refuse a file larger than *max* bytes before reading a byte of it. */
export function checkSize(size, max = PAGE_MAX_BYTES) {
  if (typeof size === "number" && size > max) {
    throw new SessionError("too_large", { size, max, mb: Math.round(max / 1024 / 1024) });
  }
}

/** Line 1 must be the header of a version we read. */
export function checkHeader(header) {
  if (!header) throw new SessionError("not_jsonl", { line: 1 });
  if (header.format !== FORMAT) {
    throw new SessionError("wrong_format", { line: 1, found: String(header.format ?? "") });
  }
  if (header.version !== VERSION) {
    throw new SessionError("wrong_version", { line: 1, found: String(header.version ?? ""), want: VERSION });
  }
  return header;
}

/**
 * The session in *text*: {header, snapshot, events}. *size* is the file's
 * size in bytes when known (a Blob's size, a Content-Length), checked first.
 */
export function parseSession(text, { size = null, maxBytes = PAGE_MAX_BYTES } = {}) {
  checkSize(size ?? text.length, maxBytes);
  if (!text.length) throw new SessionError("not_jsonl", { line: 1 });
  const whole = text.endsWith("\n");
  const lines = text.split("\n");
  if (whole) lines.pop();
  const last = lines.length;              // the number of the last line

  // a header is a few hundred bytes: a first line of 64 KiB is something else
  const header = checkHeader(lines[0].length <= HEAD_BYTES ? parseLine(lines[0]) : null);
  if (last < 2) throw new SessionError("truncated", { line: 2 });

  /** Line *n* (1-based) as an object; a cut last line is `truncated`. */
  const line = (n) => {
    const value = parseLine(lines[n - 1]);
    if (value) return value;
    if (n === last && !whole) throw new SessionError("truncated", { line: n });
    throw new SessionError("not_jsonl", { line: n });
  };

  // Line 2 that is not JSON at all is no snapshot either (wrong_format, as
  // the server's reader says), unless it is the cut last line.
  const second = parseLine(lines[1]);
  if (!second && last === 2 && !whole) throw new SessionError("truncated", { line: 2 });
  const snapshot = second?.snapshot;
  if (!isObject(snapshot) || !Number.isInteger(snapshot.seq) || !Array.isArray(snapshot.processes)) {
    throw new SessionError("wrong_format", { line: 2 });
  }
  // The reaping order (optional): which reaped processes go first past the 200 kept.
  const joined = Array.isArray(second.joined) && second.joined.every((u) => typeof u === "string")
    ? second.joined : null;
  const events = new Array(last - 2);
  let expected = snapshot.seq + 1;
  for (let n = 3; n <= last; n += 1) {
    const event = line(n);
    if (!Number.isInteger(event.seq) || typeof event.type !== "string") {
      throw new SessionError("wrong_format", { line: n });
    }
    if (event.seq !== expected) {
      throw new SessionError("seq_gap", { line: n, expected, found: event.seq });
    }
    events[n - 3] = event;
    expected += 1;
  }
  return { header, snapshot, events, joined };
}

/**
 * A session from a Blob (an uploaded File, a fetched body): the size first,
 * then the first line alone (a file of anything else is refused before the
 * rest is read), then the whole.
 */
export async function readSessionBlob(blob, { maxBytes = PAGE_MAX_BYTES } = {}) {
  checkSize(blob.size, maxBytes);
  if (!blob.size) throw new SessionError("not_jsonl", { line: 1 });
  const head = await blob.slice(0, HEAD_BYTES).text();
  const end = head.indexOf("\n");
  // No line end in the first 64 KiB of a larger file: its first line is no header.
  if (end < 0 && blob.size > HEAD_BYTES) throw new SessionError("not_jsonl", { line: 1 });
  checkHeader(parseLine(end < 0 ? head : head.slice(0, end)));
  return parseSession(await blob.text(), { size: blob.size, maxBytes });
}

/**
 * *raw* (a `?url=` parameter) as a URL of this page's origin, or a
 * SessionError `other_origin`: a replay link may only open what this
 * dashboard serves (the page's connect-src is 'self' anyway; this says why).
 */
export function sameOriginUrl(raw, here = globalThis.location?.href) {
  let url;
  try {
    url = new URL(raw, here);
  } catch {
    throw new SessionError("bad_url", { url: String(raw) });
  }
  if (url.origin !== new URL(here).origin) {
    throw new SessionError("other_origin", { url: url.href, origin: url.origin });
  }
  return url;
}

/** Fetch and read the session at a same-origin *raw* URL. */
export async function fetchSession(raw, { maxBytes = PAGE_MAX_BYTES, fetcher = fetch } = {}) {
  const url = sameOriginUrl(raw);
  let response;
  try {
    response = await fetcher(url.href, { cache: "no-store", credentials: "same-origin" });
  } catch (error) {
    throw new SessionError("fetch_failed", { url: url.pathname, detail: String(error?.message ?? error) });
  }
  if (!response.ok) throw new SessionError("http", { url: url.pathname, status: response.status });
  checkSize(Number(response.headers.get("Content-Length")) || null, maxBytes);
  return readSessionBlob(await response.blob(), { maxBytes });
}
