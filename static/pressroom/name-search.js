/*
 * The admin's name boxes (config/admin_names.py renders them complete; this makes them live):
 * - 200 ms after the last key, the names that contain what is typed are asked of the box's
 *   data-name-search address and put in its <datalist>, which the browser offers under the box;
 * - the box's status region says how many match ("3 tags match “gar”."), written only when its
 *   text changes, so a screen reader reads it once;
 * - a group of boxes (a post's tags) gets an "Add another tag" button that adds an empty box and
 *   moves the focus to it.
 * Without it, names are typed whole and the form says which it does not know.
 * No inline script: addresses come from data attributes.
 */
(function () {
  "use strict";

  const DELAY_MS = 200;

  function say(region, text) {
    if (region && region.textContent !== text) region.textContent = text;
  }

  function counted(count, box) {
    return `${count} ${count === 1 ? box.dataset.noun : box.dataset.plural}`;
  }

  function live(box) {
    const list = document.getElementById(box.getAttribute("list"));
    const status = document.getElementById(box.dataset.nameStatus);
    if (!list || !box.dataset.nameSearch) return;
    let timer = null;
    let asked = 0;
    let searched = null;

    async function search() {
      const text = box.value.trim();
      if (text === searched) return;
      searched = text;
      const request = ++asked;
      if (!text) {
        list.replaceChildren();
        say(status, "");
        return;
      }
      let answer;
      try {
        const response = await fetch(`${box.dataset.nameSearch}?q=${encodeURIComponent(text)}`, {
          credentials: "same-origin", headers: { Accept: "application/json" },
        });
        if (!response.ok) throw new Error(`${response.status}`);
        answer = await response.json();
      } catch (error) {
        if (request === asked) say(status, `The ${box.dataset.plural} could not be searched; type the whole name.`);
        return;
      }
      if (request !== asked) return; // a newer answer is on its way
      const names = Array.isArray(answer.names) ? answer.names : [];
      list.replaceChildren(...names.map((name) => {
        const option = document.createElement("option");
        option.value = name;
        return option;
      }));
      if (!names.length) {
        say(status, `No ${box.dataset.noun} matches “${text}”.`);
      } else if (answer.more) {
        say(status, `More than ${counted(names.length, box)} match “${text}”: the first ${names.length} are offered; type more to narrow them.`);
      } else {
        say(status, `${counted(names.length, box)} ${names.length === 1 ? "matches" : "match"} “${text}”.`);
      }
    }

    box.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(search, DELAY_MS);
    });
  }

  function addButton(group) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button name-search-add";
    button.textContent = `Add another ${group.dataset.noun}`;
    button.addEventListener("click", () => {
      const boxes = group.querySelectorAll("input");
      const last = boxes[boxes.length - 1];
      const box = last.cloneNode(false);
      const noun = group.dataset.noun;
      box.value = "";
      box.id = `${boxes[0].id}_${boxes.length}`;
      box.removeAttribute("aria-invalid");
      box.setAttribute("aria-label", `${noun.charAt(0).toUpperCase()}${noun.slice(1)} ${boxes.length + 1}`);
      last.after(box);
      live(box);
      box.focus();
    });
    group.after(button);
  }

  function start() {
    for (const box of document.querySelectorAll("input[data-name-search]")) live(box);
    for (const group of document.querySelectorAll("[data-name-search-group]")) addButton(group);
  }

  // A form's media is loaded in the page's <head>, before the boxes exist.
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
