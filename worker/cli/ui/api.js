// The daemon's JSON API, as the pages call it: the session (role and CSRF token),
// reads, and changes that carry the CSRF header.

/// What the server said about this browser: `role` ("admin" or "read"), `csrf` (sent
/// with every change when not null) and `token_required`.
export const session = { role: "admin", csrf: null, token_required: false };

/// An answer that was not 2xx: the API's `{"error": {code, message}}` when it sent one.
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function toLogin() {
  const next = location.pathname + location.search;
  location.assign(`/ui/login?next=${encodeURIComponent(next)}`);
}

async function answer(response) {
  if (response.status === 401) {
    toLogin();
    throw new ApiError(401, "unauthorized", "signed out");
  }
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const error = body && body.error;
    throw new ApiError(
      response.status,
      error ? error.code : "http_" + response.status,
      error ? error.message : `the server answered ${response.status}`,
    );
  }
  return body;
}

/// Reads the session. A daemon without `/ui/session` is an open one (loopback, no
/// token): every control is shown and the API decides.
export async function loadSession() {
  const response = await fetch("/ui/session", { headers: { Accept: "application/json" } });
  if (response.status === 404) return session;
  const body = await answer(response);
  Object.assign(session, body);
  return session;
}

/// Whether this browser may change things (the server checks again).
export function canChange() {
  return session.role !== "read";
}

/// GET a path of the API.
export async function get(path) {
  return answer(await fetch(path, { headers: { Accept: "application/json" } }));
}

/// GET, with `null` for a 404 (an endpoint this daemon does not have, or a gone job).
export async function getOptional(path) {
  try {
    return await get(path);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

/// A request that changes something (POST, DELETE): JSON body, CSRF header.
export async function send(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (session.csrf) headers["X-CSRF-Token"] = session.csrf;
  const init = { method, headers };
  if (body !== undefined) init.body = JSON.stringify(body);
  return answer(await fetch(path, init));
}

/// A query string of the given fields, leaving out empty ones.
export function query(fields) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(fields)) {
    if (value !== null && value !== undefined && value !== "") params.set(key, value);
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

/// Signs out: the server forgets the cookie, the browser goes to the login form.
export async function logout() {
  try {
    await send("POST", "/ui/logout");
  } finally {
    location.assign("/ui/login");
  }
}
