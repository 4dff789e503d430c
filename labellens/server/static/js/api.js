// Talking to the labellens server: JSON requests, media URLs and the live-update stream.

const TOKEN = new URLSearchParams(window.location.search).get("token");

function withToken(path) {
  if (!TOKEN) return path;
  return path + (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(TOKEN);
}

export class ApiError extends Error {}

export async function api(path, body) {
  const options = { headers: {} };
  if (TOKEN) options.headers["X-LabelLens-Token"] = TOKEN;
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
  if (!response.ok) throw new ApiError(data.error || `${response.status} ${response.statusText}`);
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
