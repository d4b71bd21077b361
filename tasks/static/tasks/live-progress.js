/*
 * Live progress of generation tasks in the admin, the editors' oversight hub.
 *
 * Two pages use it, both rendered complete by tasks/admin.py so they read fine without it:
 * - a task's change page has a panel ([data-live-task]): the script loads the task's events from
 *   the API, then follows new ones over the WebSocket /ws/tasks/<id>?after=N and redraws the
 *   progress bar, status, phase, error and the phase timeline, which it reads from the server
 *   (tasks.selectors.phase_timeline) when the status or phase changes, only ticking its clock,
 *   and when the run it watched ends reads the page's other sections again;
 * - the task changelist marks its status, phase and progress cells with data-task-id; the script
 *   follows /ws/tasks, updates the visible rows in place and inserts the rows of new tasks.
 * When sockets fail it polls the API instead, and keeps trying the socket now and then.
 * Every address comes from data attributes (the admin serves no inline script).
 * `window.pressroomLive.transport` says what is in use: "websocket" or "polling".
 */
(function () {
  "use strict";

  const FINISHED = ["completed", "failed", "cancelled", "timed_out"];

  /** The page's Cancel form was for the run that just ended: take it away (and its panel and
   * the actions' section, when nothing else is in them) rather than leave a button whose only
   * answer is a refusal. */
  function withdrawCancel() {
    for (const form of document.querySelectorAll('form[data-verb="cancel"]')) {
      const action = form.closest(".task-action") || form;
      action.hidden = true;
      const panel = form.closest("[data-panel]");
      if (panel && !panel.querySelector(".task-action:not([hidden]), .task-actions__note")) panel.hidden = true;
      const section = form.closest(".task-actions");
      if (section && !section.querySelector("[data-panel]:not([hidden])")) section.hidden = true;
    }
  }

  /** Whether a person typed or chose something in a form under `root` (not yet sent). */
  function hasTypedInput(root) {
    for (const field of root.querySelectorAll("input, textarea, select")) {
      if (field.type === "hidden") continue;
      if (field.tagName === "SELECT") {
        if ([...field.options].some((option) => option.selected !== option.defaultSelected)) return true;
      } else if (field.type === "checkbox" || field.type === "radio") {
        if (field.checked !== field.defaultChecked) return true;
      } else if (field.value !== field.defaultValue) {
        return true;
      }
    }
    return false;
  }

  // Events after which the dashboard reads its counts and panels again (TaskList.recount).
  const RECOUNTED_ON = new Set(["created", "status", "approval", "publication"]);
  const PHASE_LABELS = { "": "—", research: "Research", draft: "Draft", qa: "Quality check", image: "Image", format: "Format" };
  const STATUS_LABELS = {
    queued: "Queued", running: "Running", completed: "Completed",
    failed: "Failed", cancelled: "Cancelled", timed_out: "Timed out",
  };
  const ANNOUNCED_STATUS = {
    queued: "The task is queued.", running: "The task is running.", completed: "The task completed.",
    failed: "The task failed.", cancelled: "The task was cancelled.", timed_out: "The task timed out.",
  };

  /** Change an element's text only when it differs: a screen reader may read a replaced text again. */
  function setText(element, text) {
    if (element.textContent !== text) element.textContent = text;
  }

  // Close codes after which reconnecting cannot help: the feed stops (no reconnect, no polling)
  // and says why. 4401: signed out, session or token ended, account deactivated; 4403: signed in
  // but no longer allowed (or a page of another site); 4404: no such task, or not one of yours.
  const REFUSED = {
    4400: "The server did not understand the request for live updates: reload the page.",
    4401: "Your session has ended — log in again to follow this task.",
    4403: "You no longer have access to this task.",
    4404: "This task does not exist, or you may not see it.",
  };
  // The user's other pages hold every socket one user may open (PRESSROOM_WS_MAX_SOCKETS_PER_USER):
  // this page polls, and keeps trying its socket with the backoff until one of them closes.
  const TOO_MANY_SOCKETS = 4429;
  const PING_EVERY_MS = 25000;
  const BACKOFF_FIRST_MS = 1000;
  const BACKOFF_MAX_MS = 30000;
  const FAILED_OPENS_BEFORE_POLLING = 3;
  const EVENTS_PAGE = 500;
  // The dashboard's "Running now": a task that stopped running shows how it ended this long, then leaves.
  const STOPPED_ROW_STAYS_MS = 4000;
  // Changelist events after which a row is read again whole (approval, quality, words, age, cost).
  const ROW_READ_AGAIN_ON = new Set(["approval", "publication"]);

  const live = (window.pressroomLive = window.pressroomLive || { transport: null });

  const isFinished = (status) => FINISHED.includes(status);

  /**
   * The socket's address: `origin` (data-socket-origin, the PRESSROOM_WEBSOCKET_URL setting, e.g.
   * ws://127.0.0.1:8001 when Daphne runs on its own port without a proxy) or, when empty, this
   * page's own origin, where a proxy routes /ws/ to Daphne.
   */
  function socketUrl(path, origin) {
    if (origin) return `${origin}${path}`;
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${window.location.host}${path}`;
  }

  /** GET a JSON document of the API with the admin's session; 401/403/404 are final. */
  async function getJson(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (response.ok) return response.json();
    const error = new Error(REFUSED[4000 + response.status] || `The server answered ${response.status}.`);
    error.final = [401, 403, 404].includes(response.status);
    throw error;
  }

  function formatDuration(totalSeconds) {
    const seconds = Math.max(0, Math.round(totalSeconds));
    if (seconds < 60) return `${seconds} s`;
    const minutes = Math.floor(seconds / 60);
    const pad = (n) => String(n).padStart(2, "0");
    if (minutes < 60) return `${minutes} min ${pad(seconds % 60)} s`;
    return `${Math.floor(minutes / 60)} h ${pad(minutes % 60)} min`;
  }

  /**
   * One live connection: a WebSocket that reconnects with exponential backoff and jitter, and
   * polling while sockets are unavailable (no WebSocket, or several attempts that never opened).
   * The owner gives: url() to (re)connect to, onMessage(message), poll() for one poll,
   * pollEvery (ms), isDone(), onRefused(text) and onTransport(name).
   */
  class LiveFeed {
    constructor(owner) {
      this.owner = owner;
      this.socket = null;
      this.failedOpens = 0;
      this.retries = 0;
      this.polling = false;
      this.stopped = false;
      this.timers = {};
    }

    start() {
      if (typeof window.WebSocket === "function") this.connect();
      else this.startPolling();
    }

    stop() {
      this.stopped = true;
      this.polling = false;
      clearInterval(this.timers.ping);
      clearTimeout(this.timers.connect);
      clearTimeout(this.timers.poll);
      if (this.socket) this.socket.close(1000);
    }

    send(message) {
      if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
    }

    connect() {
      if (this.stopped) return;
      let opened = false;
      let socket;
      try {
        socket = new WebSocket(this.owner.url());
      } catch (error) {
        this.reconnectLater(false);
        return;
      }
      this.socket = socket;
      socket.onopen = () => {
        opened = true;
        this.failedOpens = 0;
        this.polling = false;
        clearTimeout(this.timers.poll);
        this.setTransport("websocket");
        this.timers.ping = setInterval(() => this.send({ type: "ping" }), PING_EVERY_MS);
      };
      socket.onmessage = (message) => {
        let data;
        try {
          data = JSON.parse(message.data);
        } catch (error) {
          return;
        }
        this.retries = 0; // the server answers: the next drop starts the backoff afresh
        this.owner.onMessage(data);
      };
      socket.onclose = (event) => {
        clearInterval(this.timers.ping);
        if (this.socket === socket) this.socket = null;
        if (this.stopped) return;
        if (REFUSED[event.code]) {
          this.refuse(REFUSED[event.code]);
          return;
        }
        if (event.code === TOO_MANY_SOCKETS) this.startPolling();
        this.reconnectLater(opened);
      };
    }

    reconnectLater(opened) {
      if (this.stopped || this.owner.isDone()) {
        this.stop();
        return;
      }
      if (!opened && ++this.failedOpens >= FAILED_OPENS_BEFORE_POLLING) this.startPolling();
      this.owner.onTransport(this.polling ? "polling" : "reconnecting");
      // 1 s, 2 s, 4 s… up to 30 s, each ±25 % so that a restarted server is not hit all at once.
      const backoff = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.retries++);
      const delay = Math.min(BACKOFF_MAX_MS, backoff * (0.75 + Math.random() * 0.5));
      this.timers.connect = setTimeout(() => this.connect(), delay);
    }

    startPolling() {
      if (this.polling || this.stopped) return;
      this.polling = true;
      this.setTransport("polling");
      const tick = async () => {
        if (!this.polling) return;
        try {
          await this.owner.poll();
        } catch (error) {
          if (error.final) {
            this.refuse(error.message);
            return;
          }
        }
        if (this.owner.isDone()) this.stop();
        else if (this.polling) this.timers.poll = setTimeout(tick, this.owner.pollEvery);
      };
      tick();
    }

    refuse(text) {
      this.stop();
      this.owner.onRefused(text);
    }

    setTransport(name) {
      live.transport = name;
      this.owner.onTransport(name);
    }
  }

  /** The change page's panel: one task, its event history and the server's phase timeline. */
  class TaskPanel {
    constructor(root) {
      const data = root.dataset;
      this.root = root;
      this.urls = {
        events: data.eventsUrl, task: data.taskUrl, timeline: data.timelineUrl,
        socket: data.socketPath, origin: data.socketOrigin,
      };
      // Running phases are timed against the server's clock, not this machine's.
      this.clockSkew = Date.parse(data.serverNow) - Date.now() || 0;
      this.events = new Set(); // sequences received
      this.seen = 0; // every event up to here is in `events`
      this.latest = 0;
      this.caughtUpFrom = -1;
      this.state = {
        sequence: Number(data.sequence), status: data.status, phase: data.phase,
        progress: Number(data.progress), error: this.part("error").textContent,
        cancelRequested: data.cancelRequested === "true",
      };
      this.watchedRunning = !isFinished(data.status);
      this.announced = `${data.status}|${data.phase}`; // what the page said when it was rendered
      this.timeline = null; // the server's phase timeline once read; until then, what it rendered
      this.feed = null;
      this.pollEvery = 3000;
    }

    part(role) {
      return this.root.querySelector(`[data-role="${role}"]`);
    }

    async start() {
      try {
        await this.fetchEvents();
      } catch (error) {
        if (error.final) return this.onRefused(error.message);
      }
      this.render();
      if (this.isDone()) return;
      this.ticker = setInterval(() => this.renderTimeline(), 1000);
      this.feed = new LiveFeed(this);
      this.feed.start();
    }

    /** Finished, and every event up to the last one is in: nothing more will come. */
    isDone() {
      return isFinished(this.state.status) && this.seen >= this.state.sequence;
    }

    url() {
      return socketUrl(`${this.urls.socket}?after=${this.seen}`, this.urls.origin);
    }

    poll() {
      return this.fetchEvents();
    }

    /** Every event after the last one seen, a page at a time. */
    async fetchEvents() {
      for (;;) {
        const batch = await getJson(`${this.urls.events}?after=${this.seen}&limit=${EVENTS_PAGE}`);
        this.addEvents(batch);
        if (batch.length < EVENTS_PAGE) return;
      }
    }

    onMessage(message) {
      if (message.type === "snapshot" && message.task) this.applySnapshot(message.task);
      else if (message.type === "event" && message.event) this.addEvents([message.event]);
      else if (message.type === "error" && message.error) this.notice(message.error.message);
    }

    applySnapshot(task) {
      if (task.last_event_sequence < this.state.sequence) return; // older than what is shown
      Object.assign(this.state, {
        sequence: task.last_event_sequence, status: task.status, phase: task.phase,
        progress: task.progress, error: task.error || "", cancelRequested: Boolean(task.cancel_requested),
      });
      this.render();
      this.finishIfDone();
    }

    addEvents(events) {
      for (const event of events) {
        if (this.events.has(event.sequence)) continue;
        this.events.add(event.sequence);
        this.latest = Math.max(this.latest, event.sequence);
        if (event.sequence > this.state.sequence) this.follow(event);
      }
      while (this.events.has(this.seen + 1)) this.seen += 1;
      if (this.latest > this.seen && this.caughtUpFrom !== this.seen && this.feed) {
        // A gap (an event arrived before an earlier one): ask for what is missing, once.
        this.caughtUpFrom = this.seen;
        this.feed.send({ type: "catch_up", after: this.seen });
      }
      if (events.length) {
        this.render();
        this.finishIfDone();
      }
    }

    follow(event) {
      Object.assign(this.state, {
        sequence: event.sequence, status: event.status, phase: event.phase, progress: event.progress,
      });
      if (!isFinished(event.status)) this.state.error = "";
      // Until the task itself is read again, the message of a failure's event is its error.
      else if (["failed", "timed_out"].includes(event.status)) this.state.error = event.message;
    }

    /** Once the task is done: stop listening, withdraw its Cancel button, read its final error,
     * and read the page's other sections again (or, when that cannot be done, offer a reload). */
    async finishIfDone() {
      if (!this.isDone() || this.finishing) return;
      this.finishing = true;
      if (this.feed) this.feed.stop();
      clearInterval(this.ticker);
      this.part("connection").textContent = "";
      if (!this.watchedRunning) return;
      // The rest of the page (article, versions, actions) was rendered before the run: read it
      // again, then say so (or, when it could not be, offer a reload).
      withdrawCancel();
      if (await this.readSectionsAgain()) {
        this.part("ended").textContent = "The run is over: its result and what you can do next are shown on this page.";
      }
      this.part("ended").hidden = false;
      try {
        const task = await getJson(this.urls.task);
        if (task.last_event_sequence >= this.state.sequence) {
          this.state.error = task.error || "";
          this.render();
        }
      } catch (error) {
        // The panel already shows the outcome; the exact error text waits for a reload.
      }
    }

    /** The task page's other sections (article, actions, quality, versions, audit trail) as the
     * server renders them now, put in place of the ones shown, this panel kept as it is; not when
     * something was typed or chosen in them, which a reload would lose. Returns whether it did. */
    async readSectionsAgain() {
      const page = this.root.closest(".task-page");
      if (!page || hasTypedInput(page)) return false;
      const response = await fetch(window.location.href, {
        credentials: "same-origin", headers: { Accept: "text/html" },
      }).catch(() => null);
      if (!response || !response.ok) return false;
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html").querySelector(".task-page");
      const ours = page.querySelector('[data-task-section="live"]');
      if (!fresh || !ours || hasTypedInput(page)) return false;
      page.replaceChildren(...[...fresh.children].map((section) =>
        section.dataset.taskSection === "live" ? ours : document.importNode(section, true)));
      return true;
    }

    /** Read the timeline again when the status or phase moved on; a change during a read is read next. */
    async refreshTimeline() {
      this.timelineWanted = `${this.state.status}|${this.state.phase}`;
      if (this.timelineReading || this.timelineRead === this.timelineWanted || !this.urls.timeline) return;
      this.timelineReading = true;
      while (this.timelineRead !== this.timelineWanted) {
        this.timelineRead = this.timelineWanted;
        try {
          this.timeline = await getJson(this.urls.timeline);
        } catch (error) {
          this.timelineRead = null; // read again on the next change
          break;
        }
        this.renderTimeline();
      }
      this.timelineReading = false;
    }

    render() {
      const { status, phase, progress, error, cancelRequested } = this.state;
      const bar = this.part("bar");
      bar.value = progress;
      bar.textContent = `${progress}%`;
      bar.setAttribute("aria-valuenow", String(progress));
      this.part("percent").textContent = `${progress}%`;
      setText(this.part("status"), STATUS_LABELS[status] || status);
      setText(this.part("phase"), PHASE_LABELS[phase] || phase);
      this.announce();
      this.part("error").textContent = error;
      this.part("error").hidden = !error;
      this.part("cancel").hidden = !cancelRequested || isFinished(status);
      Object.assign(this.root.dataset, { status, phase, progress: String(progress), sequence: String(this.state.sequence) });
      this.refreshTimeline();
      this.renderTimeline();
    }

    /** Say in the panel's status region what a screen reader should hear: one sentence when the
     * status or phase changes, never on a progress tick (the bar's value is read on demand). */
    announce() {
      const { status, phase, progress } = this.state;
      const key = `${status}|${phase}`;
      if (key === this.announced) return;
      this.announced = key;
      this.part("announcement").textContent = status === "running" && phase
        ? `Now at ${PHASE_LABELS[phase] || phase}, ${progress}% done.`
        : ANNOUNCED_STATUS[status] || `The task is ${STATUS_LABELS[status] || status}.`;
    }

    /** Show the server's timeline; a running phase's time counts on from when it started. */
    renderTimeline() {
      if (!this.timeline) return; // not read yet: keep what the server rendered
      const now = Date.now() + this.clockSkew;
      for (const step of this.timeline) {
        const item = this.root.querySelector(`[data-phase="${step.phase}"]`);
        if (!item) continue;
        item.dataset.state = step.state;
        item.querySelector('[data-role="duration"]').textContent = step.running_since
          ? formatDuration(step.seconds + (now - Date.parse(step.running_since)) / 1000)
          : step.duration || "—";
        item.querySelector('[data-role="state"]').textContent = step.state_label;
      }
    }

    onTransport(name) {
      const text = { websocket: "Live", polling: "Live (checking every few seconds)", reconnecting: "Reconnecting…" };
      this.part("connection").textContent = this.isDone() ? "" : text[name] || "";
    }

    onRefused(text) {
      clearInterval(this.ticker);
      this.part("connection").textContent = "";
      this.notice(text);
    }

    notice(text) {
      const notice = this.part("notice");
      notice.textContent = text;
      notice.hidden = !text;
    }
  }

  /**
   * A live list of tasks: status, phase and progress cells of the visible rows, found by task id,
   * and rows for tasks it does not show yet, which it asks the server for (204 when the list does
   * not take that task). The changelist (`addRows` "created") asks when a task is created, with the
   * list's own query string so that its filters apply, and puts the row first; the dashboard's
   * "Running now" (`addRows` "running") asks when a task starts running and puts it last, and
   * reads its Queue counts and panels again (`queueUrl`) when a task is created, changes status, is
   * decided on or published (RECOUNTED_ON). A row of "Running now" leaves a few seconds after its
   * task stopped running (`leaveSoon`); a changelist row is read again whole when its task
   * finishes, is decided on or published (`readRowAgain`): the live cells are only status, phase
   * and progress.
   */
  class TaskList {
    constructor(config) {
      this.config = config;
      this.rows = new Map(); // task id → {sequence, cells: {status, phase, progress}}
      this.asked = new Set(); // task ids whose row was asked for
      this.shownSince = Date.parse(config.serverNow) || Date.now();
      this.addsWhenRunning = config.addRows === "running";
      for (const cell of document.querySelectorAll(".task-live[data-task-id][data-field]")) this.register(cell);
      this.pollEvery = 5000;
      this.snapshots = 0; // snapshot frames received
    }

    register(cell) {
      const row = this.rows.get(cell.dataset.taskId) || { sequence: Number(cell.dataset.sequence), cells: {} };
      row.cells[cell.dataset.field] = cell;
      if (cell.dataset.field === "status") row.status = cell.dataset.value;
      this.rows.set(cell.dataset.taskId, row);
    }

    tableRow(row) {
      const cell = Object.values(row.cells)[0];
      return cell ? cell.closest("tr") : null;
    }

    start() {
      this.feed = new LiveFeed(this);
      this.feed.start();
    }

    /** Never: a new task can appear at any time. */
    isDone() {
      return false;
    }

    url() {
      return socketUrl(this.config.socketPath, this.config.socketOrigin);
    }

    /**
     * The dashboard's Queue counts and its panels (awaiting review, failures, recently published,
     * spend, budgets, the two charts), read again at most once a second while tasks change; the
     * panels come rendered (and escaped) by the server.
     */
    recount() {
      if (!this.config.queueUrl || this.recountTimer) return;
      this.recountTimer = window.setTimeout(async () => {
        this.recountTimer = null;
        const answer = await getJson(this.config.queueUrl).catch(() => null);
        for (const [status, count] of Object.entries((answer && answer.counts) || {})) {
          const value = document.querySelector(`[data-queue-status="${status}"]`);
          if (value) value.textContent = value.dataset.count = String(count);
        }
        for (const [name, html] of Object.entries((answer && answer.panels) || {})) {
          const panel = document.querySelector(`[data-dashboard-panel="${name}"]`);
          if (panel && typeof html === "string") panel.innerHTML = html;
        }
      }, 1000);
    }

    async poll() {
      this.recount();
      const page = await getJson(`${this.config.tasksUrl}?page_size=100`);
      this.applyTasks(page.results || []);
    }

    /** Tasks as they are now (a page of the API, a snapshot frame): their rows updated, and the
     * rows of those the list takes but does not show yet asked for (the changelist: a task created
     * since the page was rendered, whose "created" event it may never have had — created before the
     * socket opened, or its broadcast lost). */
    applyTasks(tasks) {
      for (const task of tasks) {
        const belongs = this.addsWhenRunning ? task.status === "running" : Date.parse(task.created_at) >= this.shownSince;
        if (!this.rows.has(String(task.id)) && belongs) this.addRow(task.id);
        this.applySnapshot(task);
      }
    }

    onMessage(message) {
      if (message.type === "snapshot" && Array.isArray(message.tasks)) {
        // The page was rendered from the state of the first; a later one (a reconnect, or the
        // states the server found the page had missed: a lost broadcast) may change the counts.
        if (this.snapshots++) this.recount();
        this.applyTasks(message.tasks);
      } else if (message.type === "event" && message.event) {
        const event = message.event;
        if (RECOUNTED_ON.has(event.kind)) this.recount();
        const belongs = this.addsWhenRunning ? event.status === "running" : event.kind === "created";
        if (belongs && !this.rows.has(String(event.task))) this.addRow(event.task);
        else this.update(event.task, event);
      }
    }

    /** The row the server renders for task `id`, with the list's query string (so its filters
     * apply): a <tr>, or null when the list does not take the task (204) or the read failed. */
    async fetchRow(id) {
      const response = await fetch(`${this.config.rowUrl.replace("TASK_ID", id)}${window.location.search}`, {
        credentials: "same-origin", headers: { Accept: "text/html" },
      }).catch(() => null);
      if (!response || response.status !== 200) return null;
      const template = document.createElement("template");
      template.innerHTML = (await response.text()).trim();
      return template.content.querySelector("tr");
    }

    /** Fetch and insert the row of a task this page does not show yet, newest first. */
    async addRow(taskId) {
      const id = String(taskId);
      if (this.asked.has(id) || !this.config.rowUrl) return;
      this.asked.add(id);
      const row = await this.fetchRow(id);
      if (!row) return;
      const body = document.querySelector(this.config.rows || "#result_list tbody");
      if (!body) {
        window.location.reload(); // the list was empty: there is no table to add to yet
        return;
      }
      if (this.rows.has(id)) return;
      row.classList.add("task-row--new");
      if (this.addsWhenRunning) body.append(row);
      else body.prepend(row);
      const table = body.closest("table");
      if (table) table.hidden = false;
      const empty = this.config.empty && document.querySelector(this.config.empty);
      if (empty) empty.hidden = true;
      for (const cell of row.querySelectorAll(".task-live[data-task-id][data-field]")) this.register(cell);
    }

    applySnapshot(task) {
      this.update(task.id, { ...task, sequence: task.last_event_sequence });
    }

    update(taskId, change) {
      const id = String(taskId);
      const row = this.rows.get(id);
      if (!row || change.sequence <= row.sequence) return;
      const finishedNow = isFinished(change.status) && !isFinished(row.status || "");
      row.sequence = change.sequence;
      row.status = change.status;
      row.change = change;
      const texts = {
        status: STATUS_LABELS[change.status] || change.status,
        phase: change.phase ? PHASE_LABELS[change.phase] || change.phase : "", // no dash in a list row
        progress: `${change.progress}%`,
      };
      for (const [field, cell] of Object.entries(row.cells)) {
        cell.dataset.value = String(change[field]);
        cell.dataset.sequence = String(change.sequence);
        cell.querySelector(".task-live__text").textContent = texts[field];
        const bar = cell.querySelector("progress");
        if (bar) bar.value = change.progress;
      }
      if (this.addsWhenRunning) {
        if (change.status !== "running") this.leaveSoon(id);
      } else if (finishedNow || ROW_READ_AGAIN_ON.has(change.kind) || (change.kind === undefined && isFinished(change.status))) {
        // A finished task's state that moved with no event to say how (a snapshot, a poll) may
        // be a decision or a publication: the row is read again, as after such an event.
        this.readRowAgain(id);
      }
    }

    /** "Running now": the row of a task that stopped running goes after STOPPED_ROW_STAYS_MS,
     * unless it runs again meanwhile (a retry); the list says "Nothing is running." once empty. */
    leaveSoon(id) {
      const row = this.rows.get(id);
      if (!row || row.leaving) return;
      row.leaving = window.setTimeout(() => {
        row.leaving = null;
        if (this.rows.get(id) !== row || row.status === "running") return;
        const element = this.tableRow(row);
        if (element) element.remove();
        this.rows.delete(id);
        this.asked.delete(id); // should it run again, its row is asked for again
        const body = document.querySelector(this.config.rows);
        if (body && !body.querySelector("tr")) {
          const table = body.closest("table");
          if (table) table.hidden = true;
          const empty = this.config.empty && document.querySelector(this.config.empty);
          if (empty) empty.hidden = false;
        }
      }, STOPPED_ROW_STAYS_MS);
    }

    /** The changelist row of a task, read again from the server with the list's query string and
     * put in place of the one shown (its checkbox kept); a change that came in meanwhile is applied
     * to it again. A task the list's filters no longer take (204) keeps its row as it is. */
    async readRowAgain(id) {
      const row = this.rows.get(id);
      if (!row || !this.config.rowUrl) return;
      const fresh = await this.fetchRow(id);
      const shown = this.tableRow(row);
      if (!fresh || !shown || !shown.isConnected || this.rows.get(id) !== row) return;
      const box = shown.querySelector("input.action-select");
      const freshBox = fresh.querySelector("input.action-select");
      if (box && freshBox && box.checked) {
        freshBox.checked = true;
        fresh.classList.add("selected");
      }
      shown.replaceWith(fresh);
      this.rows.delete(id);
      for (const cell of fresh.querySelectorAll(".task-live[data-task-id][data-field]")) this.register(cell);
      const current = this.rows.get(id);
      // (without its kind: the row just read already shows the decision or publication)
      if (current && row.change && row.change.sequence > current.sequence) this.update(id, { ...row.change, kind: null });
    }

    onTransport() {}

    onRefused(text) {
      this.config.notice.textContent = `Live updates stopped: ${text}`;
      this.config.notice.hidden = false;
    }
  }

  function start() {
    const panel = document.querySelector("[data-live-task]");
    if (panel) new TaskPanel(panel).start();
    const list = document.querySelector("[data-live-task-list]");
    if (list) {
      const { socketPath, socketOrigin, tasksUrl, rowUrl, serverNow, addRows, rows, empty, queueUrl } = list.dataset;
      new TaskList({ socketPath, socketOrigin, tasksUrl, rowUrl, serverNow, addRows, rows, empty, queueUrl, notice: list })
        .start();
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
