/*
 * The brief form of the oversight hub (tasks/forms.py renders it complete; this makes it live):
 * - the tolerance slider shows its value as it moves;
 * - the blog-only fields (listed in the task type select's data-blog-only-fields) are hidden for an
 *   image task (the server ignores them too);
 * - the cost estimate is asked of POST /api/tasks/estimate (session + CSRF token) whenever the type,
 *   word count or model changes, and shown as "$0.07 (estimate)", with a warning when it would exceed
 *   a monthly budget (the server refuses such a brief, and the form says so);
 * - the tags field suggests the blog's tags for the name after the last comma.
 * No inline script: addresses come from data attributes.
 */
(function () {
  "use strict";

  const form = document.getElementById("generationtask_form");
  if (!form) return;

  /** "$0.07", "$0.0069" below a cent, "$0.00": the same as tasks.forms.format_usd. */
  function formatUsd(value) {
    const amount = Number(value);
    if (!Number.isFinite(amount)) return "—";
    if (amount === 0 || amount >= 0.01) {
      return `$${amount.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
    }
    const digits = Math.max(2, -Math.floor(Math.log10(amount)) + 1);
    return `$${amount.toFixed(digits)}`;
  }

  // Tolerance slider: its <output> follows it.
  for (const output of form.querySelectorAll(".range-with-value output")) {
    const slider = document.getElementById(output.htmlFor.value || output.getAttribute("for"));
    if (!slider) continue;
    const show = () => { output.textContent = `${slider.value} ${output.dataset.unit || ""}`.trim(); };
    slider.addEventListener("input", show);
    show();
  }

  // Blog-only fields follow the task type.
  const typeSelect = form.querySelector("select[name=task_type]");
  function followType() {
    if (!typeSelect) return;
    const image = typeSelect.value === "image_generation";
    for (const name of (typeSelect.dataset.blogOnlyFields || "").split(/\s+/).filter(Boolean)) {
      for (const row of form.querySelectorAll(`.form-row.field-${name}, .fieldBox.field-${name}`)) row.hidden = image;
    }
    for (const fieldset of form.querySelectorAll("fieldset.blog-only")) fieldset.hidden = image;
  }
  if (typeSelect) {
    typeSelect.addEventListener("change", followType);
    followType();
  }

  // The cost estimate.
  const estimate = form.querySelector("output.task-estimate[data-estimate-url]");
  const note = form.querySelector("[data-role=estimate-note]");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]");
  let timer = null;
  let asked = 0;

  function brief() {
    const body = {};
    const type = form.querySelector("[name=task_type]");
    if (type) body.task_type = type.value;
    const words = form.querySelector("[name=word_count]");
    if (words && words.value !== "" && Number.isInteger(Number(words.value))) body.word_count = Number(words.value);
    const model = form.querySelector("select[name=model]");
    const option = model && model.selectedOptions[0];
    if (option && option.dataset.key) body.model = option.dataset.key;
    return body;
  }

  /** The figure and its note are one live region: write only what changed, or a screen reader
   * reads the same estimate again after every keystroke. */
  function setText(element, text) {
    if (element.textContent !== text) element.textContent = text;
  }

  async function refreshEstimate() {
    const request = ++asked;
    estimate.classList.add("task-estimate--updating");
    try {
      const response = await fetch(estimate.dataset.estimateUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf ? csrf.value : "" },
        body: JSON.stringify(brief()),
      });
      const data = await response.json().catch(() => ({}));
      if (request !== asked) return; // a newer answer is on its way
      if (!response.ok) {
        const fields = (data.error && data.error.fields) || {};
        const first = Object.values(fields).flat()[0];
        setText(note, first || (data.error && data.error.message) || `The estimate failed (${response.status}).`);
        return;
      }
      setText(estimate, `${formatUsd(data.total.cost)} (estimate)`);
      estimate.dataset.cost = data.total.cost;
      const maximum = Number(data.maximum.cost);
      let said = maximum > Number(data.total.cost) ? ` up to ${formatUsd(maximum)} if every quality round is used` : "";
      const over = (data.budgets || []).find((budget) => budget.would_exceed);
      if (over) {
        const whose = over.scope === "site" ? "the site's" : "your";
        said += ` — over ${whose} monthly budget: ${formatUsd(over.remaining)} of ${formatUsd(over.limit)} left`;
      }
      setText(note, said);
    } catch (error) {
      if (request === asked) setText(note, "The estimate could not be fetched.");
    } finally {
      if (request === asked) estimate.classList.remove("task-estimate--updating");
    }
  }

  if (estimate) {
    const later = () => { clearTimeout(timer); timer = setTimeout(refreshEstimate, 250); };
    for (const name of ["task_type", "word_count", "model"]) {
      const field = form.querySelector(`[name=${name}]`);
      if (field) {
        field.addEventListener("input", later);
        field.addEventListener("change", later);
      }
    }
    refreshEstimate();
  }

  // Comma-separated suggestions: offer "a, b, <tag>" for the name being typed.
  for (const input of form.querySelectorAll("input[data-comma-separated][list]")) {
    const list = document.getElementById(input.getAttribute("list"));
    if (!list) continue;
    const names = [...list.options].map((option) => option.value);
    input.addEventListener("input", () => {
      const parts = input.value.split(",");
      const done = parts.slice(0, -1).map((part) => part.trim()).filter(Boolean);
      const prefix = done.length ? `${done.join(", ")}, ` : "";
      list.replaceChildren(...names.filter((name) => !done.includes(name)).map((name) => {
        const option = document.createElement("option");
        option.value = prefix + name;
        return option;
      }));
    });
  }
})();
