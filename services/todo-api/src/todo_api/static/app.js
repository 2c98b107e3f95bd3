// TaskOverflow's web page: a thin client of the REST API under /api/v1, no framework, no build.
// User text only ever reaches the page through textContent and input values, never as HTML.

const API = "/api/v1";
const FINISHED = new Set(["SUCCESS", "FAILURE"]);
const POLL_FIRST_MS = 250;
const POLL_MAX_MS = 2000;
const LONG_POLL_SECONDS = 10;

const $ = (selector) => document.querySelector(selector);
const errorBox = $("#error");
const notice = $("#notice");
const list = $("#todos");
const listSummary = $("#list-summary");
const filters = $("#filters");
const newTodoForm = $("#new-todo");
const exportButton = $("#export");
const exportStatus = $("#export-status");
const exportDownload = $("#export-download");
const authBanner = $("#auth-banner");
const feedShow = $("#feed-show");
const feedRotate = $("#feed-rotate");
const feedStatus = $("#feed-status");
const feedAddress = $("#feed-address");
const feedUrl = $("#feed-url");
const feedWebcal = $("#feed-webcal");

class ApiError extends Error {}

// --- signing in: OAuth 2.0 authorization code with PKCE (RFC 7636), a public client ----------
// The API says whether it wants a token (GET /auth-config). The ID token is kept for this tab
// only (sessionStorage) and sent as the bearer token: it names the API's audience, and carries
// the verified e-mail address calendar mail may go to (Cognito's access tokens carry neither).

const TOKEN_KEY = "taskoverflow.id_token";
const PKCE_KEY = "taskoverflow.pkce";
let authConfig = { enabled: false };

const base64url = (bytes) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const randomString = () => base64url(crypto.getRandomValues(new Uint8Array(32)));
const redirectUri = () => `${location.origin}/`;

function tokenClaims(token) {
  try {
    return JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  } catch {
    return null;
  }
}

function currentToken() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const claims = token && tokenClaims(token);
  // A token about to expire is as good as none: sign in again rather than fail mid-action.
  return claims && claims.exp * 1000 > Date.now() + 30_000 ? token : null;
}

async function redirectToSignIn() {
  const pkce = { verifier: randomString(), state: randomString() };
  sessionStorage.setItem(PKCE_KEY, JSON.stringify(pkce));
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(pkce.verifier)));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: authConfig.client_id,
    redirect_uri: redirectUri(),
    scope: authConfig.scope,
    state: pkce.state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  location.assign(`${authConfig.authorization_endpoint}?${query}`);
  return new Promise(() => {}); // the page is leaving
}

/** Back from the issuer with ?code=…&state=…: trade the code (and the PKCE verifier) for tokens. */
async function finishSignIn(params) {
  const pkce = JSON.parse(sessionStorage.getItem(PKCE_KEY) ?? "null");
  sessionStorage.removeItem(PKCE_KEY);
  history.replaceState(null, "", location.pathname);
  if (!pkce || params.get("state") !== pkce.state) throw new ApiError("Sign-in failed: the answer was not for this page.");
  const response = await fetch(authConfig.token_endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: params.get("code"),
      redirect_uri: redirectUri(),
      client_id: authConfig.client_id,
      code_verifier: pkce.verifier,
    }),
  });
  const tokens = await response.json().catch(() => ({}));
  if (!response.ok || !tokens.id_token) throw new ApiError(`Sign-in failed: ${tokens.error ?? response.status}.`);
  sessionStorage.setItem(TOKEN_KEY, tokens.id_token);
}

/** Make sure the page may call the API: signed in when the API wants a token. */
async function signIn() {
  authConfig = await api("GET", `${API}/auth-config`);
  authBanner.hidden = false;
  if (!authConfig.enabled) {
    authBanner.textContent = "Authentication is off: every visitor sees and changes every todo.";
    return;
  }
  const params = new URLSearchParams(location.search);
  if (params.has("code")) await finishSignIn(params);
  if (!currentToken()) await redirectToSignIn();
  const claims = tokenClaims(currentToken());
  authBanner.classList.add("signed-in");
  authBanner.textContent = `Signed in as ${claims.email ?? claims.sub}.`;
}

// A write that got no answer, a 503 or a 409 is sent again, this many times in all.
const WRITE_ATTEMPTS = 4;

/** Call the API; answer the parsed JSON, or throw ApiError with the API's own message.
 *
 * A write carries an Idempotency-Key of its own and keeps it for its retries: a 503 or a lost
 * answer does not say whether the server made the change, and with the key it makes it once.
 */
async function api(method, url, body) {
  const options = { method, headers: { Accept: "application/json" } };
  if (authConfig.enabled) options.headers.Authorization = `Bearer ${currentToken()}`;
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const write = method !== "GET";
  if (write) options.headers["Idempotency-Key"] = randomString();
  let response;
  for (let attempt = 1; ; attempt++) {
    const retry = write && attempt < WRITE_ATTEMPTS;
    try {
      response = await fetch(url, options);
    } catch {
      if (retry) {
        await pause(1000);
        continue;
      }
      throw new ApiError("The server cannot be reached. Is it running?");
    }
    if (!(retry && (response.status === 503 || response.status === 409))) break;
    await pause(1000 * Number(response.headers.get("Retry-After") ?? 1));
  }
  if (response.status === 401 && authConfig.enabled) {
    sessionStorage.removeItem(TOKEN_KEY); // expired or revoked: sign in again
    await redirectToSignIn();
  }
  const payload = await response.json().catch(() => null);
  if (!response.ok) {
    throw new ApiError(payload?.error ?? `The server answered ${response.status} ${response.statusText}.`);
  }
  return payload;
}

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = false;
}

function clearMessages() {
  errorBox.hidden = true;
  errorBox.textContent = "";
  notice.textContent = "";
}

/** Run a user action: clear old messages, show the API's error if it fails. */
async function act(action) {
  clearMessages();
  try {
    await action();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    showError(error.message);
  }
}

// <input type="datetime-local" step="1"> gives "YYYY-MM-DDTHH:MM" when the seconds are zero,
// and the API wants "YYYY-MM-DDTHH:MM:SS" exactly.
function toApiDeadline(value) {
  if (!value) return null;
  return value.length === 16 ? `${value}:00` : value.slice(0, 19);
}

function describeDeadline(todo) {
  if (!todo.deadline_at) return "No deadline";
  // No offset: the browser reads it as local time, which is what the user typed.
  const deadline = new Date(todo.deadline_at);
  const when = deadline.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
  return !todo.completed && deadline < new Date() ? `Due ${when} (overdue)` : `Due ${when}`;
}

// --- the list ------------------------------------------------------------------------------

let latestLoad = 0;

async function loadTodos() {
  const query = new URLSearchParams();
  for (const [name, value] of new FormData(filters)) {
    if (value !== "") query.set(name, value);
  }
  // Filters can change faster than the answers come: only the latest request may render, and
  // aria-busy tells assistive technology (and tests) that the list is about to change.
  const load = ++latestLoad;
  list.setAttribute("aria-busy", "true");
  try {
    const todos = await api("GET", `${API}/todos?${query}`);
    if (load !== latestLoad) return;
    // The API lists oldest first; newest first keeps what was just added in view on a long list.
    list.replaceChildren(...todos.toReversed().map(renderTodo));
    listSummary.textContent =
      todos.length === 0 ? "No todos match." : `${todos.length} todo${todos.length === 1 ? "" : "s"}`;
  } finally {
    if (load === latestLoad) list.setAttribute("aria-busy", "false");
  }
}

function renderTodo(todo) {
  const item = $("#todo-item").content.firstElementChild.cloneNode(true);
  item.dataset.id = todo.id;
  item.classList.toggle("completed", todo.completed);
  item.querySelector(".todo-title").textContent = todo.title;
  const description = item.querySelector(".todo-description");
  description.textContent = todo.description ?? "";
  description.hidden = !todo.description;
  const deadline = item.querySelector(".todo-deadline");
  deadline.textContent = describeDeadline(todo);
  deadline.classList.toggle("overdue", deadline.textContent.endsWith("(overdue)"));

  const toggle = item.querySelector('[data-action="toggle"]');
  toggle.textContent = todo.completed ? "Reopen" : "Mark complete";
  toggle.addEventListener("click", () =>
    act(async () => {
      await api("PUT", `${API}/todos/${todo.id}`, { completed: !todo.completed });
      await loadTodos();
    }),
  );
  item.querySelector('[data-action="edit"]').addEventListener("click", () => startEditing(item, todo));
  item.querySelector('[data-action="delete"]').addEventListener("click", () =>
    act(async () => {
      await api("DELETE", `${API}/todos/${todo.id}`);
      notice.textContent = `Deleted “${todo.title}”.`;
      await loadTodos();
    }),
  );
  // Every row has the same three buttons: name them after the todo for screen readers.
  for (const button of item.querySelectorAll(".todo-actions button")) {
    button.setAttribute("aria-label", `${button.textContent} “${todo.title}”`);
  }
  return item;
}

function startEditing(item, todo) {
  const form = $("#todo-editor").content.firstElementChild.cloneNode(true);
  form.setAttribute("aria-label", `Edit “${todo.title}”`);
  for (const label of form.querySelectorAll("label[data-for]")) {
    const id = `edit-${todo.id}-${label.dataset.for}`;
    label.htmlFor = id;
    form.querySelector(`[data-field="${label.dataset.for}"]`).id = id;
  }
  form.elements.title.value = todo.title;
  form.elements.description.value = todo.description ?? "";
  form.elements.deadline.value = todo.deadline_at ?? "";
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(async () => {
      await api("PUT", `${API}/todos/${todo.id}`, {
        title: form.elements.title.value,
        description: form.elements.description.value || null,
        deadline_at: toApiDeadline(form.elements.deadline.value),
      });
      notice.textContent = `Saved “${form.elements.title.value}”.`;
      await loadTodos();
    });
  });
  form.querySelector('[data-action="cancel"]').addEventListener("click", () => item.replaceWith(renderTodo(todo)));
  item.replaceChildren(form);
  form.elements.title.focus();
}

// --- creating ------------------------------------------------------------------------------

newTodoForm.addEventListener("submit", (event) => {
  event.preventDefault();
  act(async () => {
    const fields = newTodoForm.elements;
    const todo = await api("POST", `${API}/todos`, {
      title: fields.title.value,
      description: fields.description.value || null,
      deadline_at: toApiDeadline(fields.deadline.value),
    });
    newTodoForm.reset();
    fields.title.focus();
    notice.textContent = `Added “${todo.title}”.`;
    await loadTodos();
  });
});

filters.addEventListener("change", () => act(loadTodos));
filters.addEventListener("submit", (event) => {
  event.preventDefault();
  act(loadTodos);
});

// --- calendar export -----------------------------------------------------------------------

const pause = (milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds));

async function exportCalendar() {
  exportDownload.hidden = true;
  exportStatus.textContent = "Calendar export: requesting…";
  const job = await api("POST", `${API}/todos/ical`);
  // A long poll: the server answers as soon as the job is finished (or after LONG_POLL_SECONDS).
  const statusUrl = new URL(job.task_url);
  statusUrl.searchParams.set("wait", LONG_POLL_SECONDS);
  let status = { task_status: "PENDING" };
  // The server turns a job stuck past its deadline into FAILURE, so this loop ends. A server
  // busy with other long polls answers at once: the pause keeps that from becoming a busy loop.
  for (let wait = POLL_FIRST_MS; ; wait = Math.min(wait * 2, POLL_MAX_MS)) {
    exportStatus.textContent = `Calendar export: ${status.task_status}`;
    status = await api("GET", statusUrl);
    if (FINISHED.has(status.task_status)) break;
    await pause(wait);
  }
  exportStatus.textContent = `Calendar export: ${status.task_status}`;
  if (status.task_status === "FAILURE") throw new ApiError(`The calendar export failed: ${status.error}`);
  if (exportDownload.href.startsWith("blob:")) URL.revokeObjectURL(exportDownload.href);
  // A link cannot carry a bearer token: with authentication on, fetch the file and link to it.
  exportDownload.href = authConfig.enabled ? await calendarFile(status.result_url) : status.result_url;
  exportDownload.download = `todos-${status.task_id}.ics`;
  exportDownload.hidden = false;
}

async function calendarFile(url) {
  const response = await fetch(url, { headers: { Authorization: `Bearer ${currentToken()}` } });
  if (!response.ok) throw new ApiError(`The calendar cannot be downloaded (${response.status}).`);
  return URL.createObjectURL(await response.blob());
}

exportButton.addEventListener("click", async () => {
  exportButton.disabled = true;
  await act(exportCalendar);
  exportButton.disabled = false;
});

// --- live calendar feed --------------------------------------------------------------------
// The API keeps only a digest of the feed's token: it shows the address when the token is made
// (the first request, each rotation) and null afterwards, when only a new address can be shown.

function showFeed(feed) {
  if (feed.feed_url === null) {
    feedAddress.hidden = true;
    feedStatus.textContent =
      "Your subscribe link was shown when it was made. Make a new one to see it (the old one stops working).";
    return;
  }
  feedUrl.value = feed.feed_url;
  feedWebcal.href = feed.webcal_url;
  feedAddress.hidden = false;
  feedStatus.textContent = "Copy this link into your calendar app, or open the webcal:// link.";
}

feedShow.addEventListener("click", () => act(async () => showFeed(await api("GET", `${API}/calendar/feed`))));

feedRotate.addEventListener("click", () =>
  act(async () => showFeed(await api("POST", `${API}/calendar/feed/rotate`))),
);

$("#feed-copy").addEventListener("click", async () => {
  feedUrl.select();
  try {
    await navigator.clipboard.writeText(feedUrl.value);
    feedStatus.textContent = "Link copied.";
  } catch {
    feedStatus.textContent = "Copy the selected link by hand (the browser refused the clipboard).";
  }
});

act(async () => {
  await signIn();
  await loadTodos();
});
