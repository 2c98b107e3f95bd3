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

class ApiError extends Error {}

/** Call the API; answer the parsed JSON, or throw ApiError with the API's own message. */
async function api(method, url, body) {
  const options = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, options);
  } catch {
    throw new ApiError("The server cannot be reached. Is it running?");
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
  exportDownload.href = status.result_url;
  exportDownload.download = `todos-${status.task_id}.ics`;
  exportDownload.hidden = false;
}

exportButton.addEventListener("click", async () => {
  exportButton.disabled = true;
  await act(exportCalendar);
  exportButton.disabled = false;
});

act(loadTodos);
