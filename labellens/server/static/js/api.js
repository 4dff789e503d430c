// Talking to the labellens server: JSON requests, media URLs and the live-update stream.

const TOKEN = new URLSearchParams(window.location.search).get("token");

function withToken(path) {
  if (!TOKEN) return path;
  return path + (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(TOKEN);
}

// An answer of the server that is not OK: its error message and HTTP status (409: a conflict).
export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

// The page's token as a header: every request that writes sends it (a cookie may be another reviewer's).
export function tokenHeaders() {
  return TOKEN ? { "X-LabelLens-Token": TOKEN } : {};
}

export async function api(path, body) {
  const options = { headers: tokenHeaders() };
  if (body !== undefined) {
    options.method = "POST";
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  let data = {};
  try {
    data = await response.json();
  } catch (err) {
    data = {};
  }
  if (!response.ok) throw new ApiError(data.error || `${response.status} ${response.statusText}`, response.status);
  return data;
}

export function dsPath(dataset, rest = "") {
  return `api/datasets/${encodeURIComponent(dataset)}${rest}`;
}

export function mediaUrl(dataset, sampleId, thumb) {
  const path = `media/${encodeURIComponent(dataset)}/${sampleId}${thumb ? "?thumb=1" : ""}`;
  return withToken(path);
}

export function openEvents(handlers) {
  const source = new EventSource(withToken("api/events"));
  for (const [kind, handler] of Object.entries(handlers)) {
    source.addEventListener(kind, (event) => handler(JSON.parse(event.data)));
  }
  return source;
}
