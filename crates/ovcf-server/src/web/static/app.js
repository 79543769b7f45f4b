// OVCF Pathway web application: the little behaviour that HTML alone cannot give.
// Everything works without it except adding/removing repeated blocks and the spine diagram.
"use strict";

function renumber(container) {
  const group = container.dataset.group;
  const nameRe = new RegExp("^" + group + "\\[\\d+\\]");
  const idRe = new RegExp("^f-" + group + "-\\d+-");
  container.querySelectorAll(":scope > fieldset.block").forEach((block, i) => {
    block.querySelectorAll("[name]").forEach((el) => {
      el.name = el.name.replace(nameRe, group + "[" + i + "]");
    });
    block.querySelectorAll("[id]").forEach((el) => {
      el.id = el.id.replace(idRe, "f-" + group + "-" + i + "-");
    });
    block.querySelectorAll("label[for]").forEach((el) => {
      el.htmlFor = el.htmlFor.replace(idRe, "f-" + group + "-" + i + "-");
    });
    block.querySelectorAll("[data-path]").forEach((el) => {
      el.dataset.path = el.dataset.path.replace(nameRe, group + "[" + i + "]");
    });
    const no = block.querySelector(".block-no");
    if (no) no.textContent = String(i + 1);
  });
}

function addBlock(group) {
  const container = document.querySelector('.blocks[data-group="' + group + '"]');
  const template = document.querySelector('template[data-template="' + group + '"]');
  if (!container || !template) return null;
  const index = container.querySelectorAll(":scope > fieldset.block").length;
  const holder = document.createElement("div");
  holder.innerHTML = template.innerHTML.split("__i__").join(String(index));
  const block = holder.firstElementChild;
  container.appendChild(block);
  renumber(container);
  return block;
}

function levelSelects() {
  return Array.from(document.querySelectorAll('select[name^="fractures["][name$="].level"]'));
}

function syncSpine() {
  const chosen = new Set(levelSelects().map((s) => s.value).filter(Boolean));
  document.querySelectorAll(".spine [data-level]").forEach((el) => {
    const on = chosen.has(el.dataset.level);
    if (el.tagName === "BUTTON") el.setAttribute("aria-pressed", on ? "true" : "false");
    else el.classList.toggle("chosen", on);
  });
}

function chooseLevel(level) {
  const existing = levelSelects().find((s) => s.value === level);
  if (existing) {
    existing.focus();
    return;
  }
  let target = levelSelects().find((s) => !s.value);
  if (!target) {
    const block = addBlock("fractures");
    target = block && block.querySelector('select[name$="].level"]');
  }
  if (target) {
    target.value = level;
    target.dispatchEvent(new Event("change", { bubbles: true }));
    target.focus();
  }
  syncSpine();
}

document.addEventListener("click", (ev) => {
  const t = ev.target instanceof Element ? ev.target : null;
  if (!t) return;
  const add = t.closest("[data-add]");
  if (add) {
    const block = addBlock(add.dataset.add);
    const first = block && block.querySelector("input, select");
    if (first) first.focus();
    return;
  }
  const remove = t.closest("[data-remove]");
  if (remove) {
    const block = remove.closest("fieldset.block");
    const container = block && block.parentElement;
    if (block && container) {
      block.remove();
      renumber(container);
      syncSpine();
    }
    return;
  }
  const level = t.closest(".spine [data-level]");
  if (level) {
    chooseLevel(level.dataset.level);
    return;
  }
  if (t.closest("[data-print]")) {
    window.print();
    return;
  }
  if (t.closest("[data-back]")) {
    ev.preventDefault();
    history.back();
  }
});

document.addEventListener("change", (ev) => {
  const t = ev.target;
  if (t instanceof HTMLSelectElement && /^fractures\[\d+\]\.level$/.test(t.name)) syncSpine();
});

document.addEventListener("DOMContentLoaded", () => {
  syncSpine();
  const summary = document.querySelector(".error-summary");
  if (summary) summary.focus();
});
