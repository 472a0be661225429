// The API client of every page: JSON in and out, 204 as null, `{error: {code, message}}` as an
// ApiError, and a request that never reached the server said so a person understands. Each page
// brings its credentials (`auth`) and says what a 401 means (`unauthorized`: true when the page
// starts over, and the call never settles).

export class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

export const failure = (status, data) =>
  new ApiError(status, data?.error?.code || "error", data?.error?.message || "Something went wrong on our side. Please try again.");

export function client({ base = "", auth = () => ({}), unauthorized = () => false } = {}) {
  return async function api(path, { method = "GET", json, body, headers = {} } = {}) {
    headers = { ...headers, ...auth(method) };
    if (json !== undefined) { headers["Content-Type"] = "application/json"; body = JSON.stringify(json); }
    let res;
    try { res = await fetch(base + path, { method, headers, body, credentials: "same-origin" }); } catch {
      throw new ApiError(0, "offline", "We could not reach the server. Check your connection and try again.");
    }
    if (res.status === 401 && unauthorized(path)) return new Promise(() => {});
    const data = res.status === 204 ? null : await res.json().catch(() => null);
    if (!res.ok) throw failure(res.status, data);
    return data;
  };
}
