// Talking to the server: every request goes through here, with the API key when the server
// wants one. A 401 opens the key panel (saying whether the key given was refused) and the
// request is sent again once a key is entered. Paths are the current workspace's: "/status"
// is sent to /workspaces/NAME/status on a workspace's page (workspace.js); the workspace
// resource itself (/workspaces, /workspaces/NAME) is sent as written.
import { $ } from "./dom.js";
import { API_BASE } from "./workspace.js";

const KEY = "graphready.key";
let waiting = null;  // the promise of the key panel, while it is open

export class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

export function key() { return sessionStorage.getItem(KEY) || ""; }

// The URL of an API path: the current workspace's, unless it is the workspace resource.
export function url(path) {
  if (path === "/workspaces" || path.startsWith("/workspaces/")) return path;
  return API_BASE + path;
}

function headers(extra = {}) {
  const out = { ...extra };
  if (key()) out.Authorization = `Bearer ${key()}`;
  return out;
}

function askForKey(refused) {
  if (!waiting) {
    waiting = new Promise((resolve) => {
      $("key-message").textContent = refused
        ? "That key was refused: the server did not accept it. Enter another one."
        : "This server needs an API key.";
      $("key-panel").hidden = false;
      $("key-input").value = "";
      $("key-input").focus();
      $("key-form").onsubmit = (ev) => {
        ev.preventDefault();
        sessionStorage.setItem(KEY, $("key-input").value.trim());
        $("key-panel").hidden = true;
        waiting = null;
        resolve();
      };
    });
  }
  return waiting;
}

async function errorOf(response) {
  let code = "http_error", message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && body.error) ({ code, message } = body.error);
  } catch (e) { /* not JSON */ }
  return new ApiError(response.status, code, message);
}

// fetch() with the key; on 401 asks for a key and tries again. Returns the Response when ok,
// throws ApiError otherwise.
export async function request(path, options = {}) {
  for (;;) {
    const sent = key();
    const response = await fetch(url(path), { ...options, headers: headers(options.headers) });
    if (response.status === 401) {
      await askForKey(Boolean(sent));
      continue;
    }
    if (!response.ok) throw await errorOf(response);
    return response;
  }
}

export async function getJSON(path) { return (await request(path)).json(); }

export async function sendJSON(method, path, body) {
  const response = await request(path, {
    method, headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return response.json();
}

// Upload with progress (fetch cannot report upload progress): XMLHttpRequest, same key rules.
export function upload(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const send = () => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", url(path));
      const sent = key();
      if (sent) xhr.setRequestHeader("Authorization", `Bearer ${sent}`);
      xhr.upload.onprogress = (ev) => { if (ev.lengthComputable) onProgress(ev.loaded / ev.total); };
      xhr.onerror = () => reject(new ApiError(0, "network", "the upload failed: the server cannot be reached"));
      xhr.onload = async () => {
        if (xhr.status === 401) { await askForKey(Boolean(sent)); send(); return; }
        let body = null;
        try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
        if (xhr.status >= 200 && xhr.status < 300) resolve(body);
        else reject(new ApiError(xhr.status, body?.error?.code || "http_error",
                                 body?.error?.message || `${xhr.status} ${xhr.statusText}`));
      };
      xhr.send(form);
    };
    send();
  });
}
