// The workspace this page shows, from its address, in one place: the app at /workspaces/NAME/
// is workspace NAME's and talks to /workspaces/NAME/...; the app at / is the default
// workspace's and talks to today's paths (/chat, /documents, ...), which are the default's.
// The name is taken as written (the server checks it): an unknown or malformed one is answered
// 404 or 400 by the API, and the app says so instead of showing empty views.

export const DEFAULT = "default";
const PREFIX = "/workspaces/";

// "/workspaces/finance/" -> "finance"; "/" (or anything else) -> null, the default's URLs.
function named(pathname) {
  if (!pathname.startsWith(PREFIX)) return null;
  const rest = pathname.slice(PREFIX.length);
  const cut = rest.indexOf("/");
  const name = cut < 0 ? rest : rest.slice(0, cut);
  try { return decodeURIComponent(name); } catch (e) { return name; }
}

const fromAddress = named(location.pathname);

// The current workspace's name ("default" at /).
export const WORKSPACE = fromAddress ?? DEFAULT;

// Whether the address names the workspace (/workspaces/NAME/) rather than being /.
export const NAMED = fromAddress !== null;

// The prefix of the current workspace's API paths: "" at / (today's URLs), else /workspaces/NAME.
export const API_BASE = NAMED ? `${PREFIX}${encodeURIComponent(WORKSPACE)}` : "";

// The address of a workspace's app (the default's is /, as before workspaces).
export function appUrl(name) {
  return name === DEFAULT ? "/" : `${PREFIX}${encodeURIComponent(name)}/`;
}

// The address of a workspace resource (GET/DELETE /workspaces/NAME).
export function resourceUrl(name) {
  return `${PREFIX}${encodeURIComponent(name)}`;
}
