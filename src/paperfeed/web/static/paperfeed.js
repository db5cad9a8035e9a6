/*
 * paperfeed.js: the browser-side niceties of paperfeed's web app.
 *
 * Progressive enhancement only: every page works without this file (votes are plain form posts, links are
 * links, times are printed in UTC by the server). Plain ES2017, no build step, no dependencies, no network
 * requests other than the vote form's own action. Loaded with `defer` after katex.min.js and
 * auto-render.min.js, so by DOMContentLoaded those have run.
 *
 * Owns: math rendering (.math), list-page keyboard shortcuts, vote-without-reload, copy buttons, local times.
 */
(function () {
  "use strict";

  var MATH_OPTIONS = {
    // "$$" must come before "$" or display math would be read as two empty inline spans.
    delimiters: [
      { left: "$$", right: "$$", display: true },
      { left: "$", right: "$", display: false },
      { left: "\\(", right: "\\)", display: false },
      { left: "\\[", right: "\\]", display: true },
    ],
    throwOnError: false,
    ignoredTags: ["script", "noscript", "style", "textarea", "pre", "code", "input"],
  };

  function renderMath() {
    var render = window.renderMathInElement;
    if (typeof render !== "function") return;
    // Only .math elements hold TeX; walking the whole body's text nodes is the slow part of auto-render.
    document.querySelectorAll(".math").forEach(function (el) {
      try {
        render(el, MATH_OPTIONS);
      } catch (err) {
        // One malformed abstract must not stop the others from rendering.
      }
    });
  }

  /* ---- keyboard shortcuts ---- */

  var selected = null;

  function entries() {
    return Array.prototype.slice.call(document.querySelectorAll("article.paper-entry"));
  }

  function select(entry, scroll) {
    if (selected && selected !== entry) {
      selected.classList.remove("selected");
      selected.removeAttribute("aria-current");
    }
    selected = entry;
    entry.classList.add("selected");
    entry.setAttribute("aria-current", "true");
    if (!entry.hasAttribute("tabindex")) entry.setAttribute("tabindex", "-1");
    if (scroll) {
      entry.scrollIntoView({ block: "nearest" });
      // preventScroll: scrollIntoView already placed it; focus() alone would jump to the top edge.
      entry.focus({ preventScroll: true });
    }
  }

  function move(step) {
    var list = entries();
    if (list.length === 0) return false;
    var i = selected ? list.indexOf(selected) : -1;
    var next = i === -1 ? 0 : Math.min(Math.max(i + step, 0), list.length - 1);
    select(list[next], true);
    return true;
  }

  function openSelected() {
    if (!selected || !document.contains(selected)) return false;
    var link = selected.querySelector("a.paper-link");
    if (!link) return false;
    link.click();
    return true;
  }

  function isTyping(target) {
    if (!target || !target.closest) return false;
    if (target.isContentEditable) return true;
    return Boolean(target.closest("input, textarea, select, [contenteditable]:not([contenteditable='false'])"));
  }

  function onKeydown(event) {
    if (event.defaultPrevented || event.isComposing) return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (isTyping(target)) return;
    var handled = false;
    switch (event.key) {
      case "j":
        handled = move(1);
        break;
      case "k":
        handled = move(-1);
        break;
      case "o":
        handled = openSelected();
        break;
      case "Enter":
        // Enter on a focused link or button already activates it; only take Enter when the entry itself has focus.
        if (selected && target === selected) handled = openSelected();
        break;
      case "/": {
        var q = document.getElementById("q");
        if (q) {
          q.focus();
          if (typeof q.select === "function") q.select();
          handled = true;
        }
        break;
      }
      case "?": {
        var help = document.getElementById("shortcuts-help");
        if (help) {
          help.hidden = !help.hidden;
          handled = true;
        }
        break;
      }
      case "Escape": {
        var open = document.getElementById("shortcuts-help");
        if (open && !open.hidden) {
          open.hidden = true;
          handled = true;
        }
        break;
      }
    }
    // Stops "/" from being typed into the search box it just focused, and "j"/"k" from scrolling twice.
    if (handled) event.preventDefault();
  }

  function onFocusin(event) {
    // Keep j/k relative to where the reader is after tabbing or clicking into an entry.
    var entry = event.target && event.target.closest ? event.target.closest("article.paper-entry") : null;
    if (entry && entry !== selected) select(entry, false);
  }

  /* ---- votes ---- */

  function loginUrl() {
    return "/login?next=" + encodeURIComponent(window.location.pathname + window.location.search);
  }

  function nativeSubmit(form, submitter) {
    // form.submit() skips the submitter's name/value; carry it over so the server sees what a click would send.
    if (submitter && submitter.name) {
      var carry = document.createElement("input");
      carry.type = "hidden";
      carry.name = submitter.name;
      carry.value = submitter.value;
      form.appendChild(carry);
    }
    // Called from the prototype: a control named "submit" would shadow form.submit.
    HTMLFormElement.prototype.submit.call(form);
  }

  function applyVote(action, upvoted, upvotes) {
    // The same paper can be on the page twice (list and sidebar); keep every copy of its button in step.
    document.querySelectorAll("form.vote-form").forEach(function (form) {
      if (form.action !== action) return;
      var button = form.querySelector(".vote-button");
      if (button) {
        button.setAttribute("aria-pressed", upvoted ? "true" : "false");
        // The button posts up=1 to vote and up=0 to withdraw: the next press does the opposite.
        if (button.name === "up") button.value = upvoted ? "0" : "1";
        button.setAttribute("aria-label", upvoted ? "Withdraw upvote" : "Upvote");
      }
      var count = form.querySelector(".vote-count");
      if (count) count.textContent = String(upvotes);
    });
  }

  async function sendVote(form, submitter) {
    var body = new FormData(form);
    if (submitter && submitter.name) body.append(submitter.name, submitter.value);
    var response;
    try {
      response = await fetch(form.action, {
        method: "POST",
        body: body,
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
    } catch (err) {
      // Never reached the server: the plain post can only do better.
      nativeSubmit(form, submitter);
      return;
    }
    if (response.status === 401) {
      window.location.assign(loginUrl());
      return;
    }
    if (!response.ok) {
      nativeSubmit(form, submitter);
      return;
    }
    var data = null;
    try {
      data = await response.json();
    } catch (err) {
      data = null;
    }
    if (data && typeof data.upvoted === "boolean" && typeof data.upvotes === "number") {
      applyVote(form.action, data.upvoted, data.upvotes);
      return;
    }
    // A 2xx without the JSON means the server took the vote but answered as for a browser (e.g. a redirect).
    // Posting again would toggle the vote back, so show where the server sent us, or this page afresh.
    if (response.redirected) window.location.assign(response.url);
    else window.location.reload();
  }

  function onSubmit(event) {
    var form = event.target;
    if (!form || !form.matches || !form.matches("form.vote-form")) return;
    if (typeof window.fetch !== "function" || typeof window.FormData !== "function") return;
    event.preventDefault();
    if (form.getAttribute("aria-busy") === "true") return; // a double click must not vote twice
    form.setAttribute("aria-busy", "true");
    sendVote(form, event.submitter || null).then(
      function () {
        form.removeAttribute("aria-busy");
      },
      function () {
        form.removeAttribute("aria-busy");
      }
    );
  }

  /* ---- copy buttons ---- */

  function setupCopyButtons() {
    var clipboard = navigator.clipboard;
    // No clipboard API (old browser, or a page not served over https/localhost): leave the buttons hidden.
    if (!clipboard || typeof clipboard.writeText !== "function") return;
    document.querySelectorAll("button.copy-button[data-copy-target]").forEach(function (button) {
      if (!document.getElementById(button.getAttribute("data-copy-target"))) return;
      button.hidden = false;
      var label = button.textContent;
      var timer = 0;
      button.addEventListener("click", function () {
        var source = document.getElementById(button.getAttribute("data-copy-target"));
        if (!source) return;
        var show = function (text) {
          button.textContent = text;
          window.clearTimeout(timer);
          timer = window.setTimeout(function () {
            button.textContent = label;
          }, 1500);
        };
        clipboard.writeText(source.textContent.trim()).then(
          function () {
            show("Copied");
          },
          function () {
            show("Copy failed");
          }
        );
      });
    });
  }

  /* ---- local times ---- */

  function localiseTimes() {
    document.querySelectorAll("time.local[datetime]").forEach(function (el) {
      var iso = el.getAttribute("datetime");
      // A bare date has no time of day to convert; shifting it by the offset could even change the day.
      if (!iso || iso.indexOf("T") === -1) return;
      var when = new Date(iso);
      if (isNaN(when.getTime())) return;
      var text;
      try {
        text = when.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
      } catch (err) {
        text = when.toLocaleString();
      }
      if (!el.title) el.title = el.textContent.trim();
      el.textContent = text;
    });
  }

  // The blend control applies as soon as a position is picked (without JavaScript its Apply button does it).
  function setupBlend() {
    var form = document.querySelector(".blend-form");
    if (!form) return;
    form.addEventListener("change", function () { form.submit(); });
  }

  function init() {
    setupBlend();
    renderMath();
    setupCopyButtons();
    localiseTimes();
  }

  // Listeners on document work for entries and forms whatever the page holds, so they are added at once.
  document.addEventListener("keydown", onKeydown);
  document.addEventListener("focusin", onFocusin);
  document.addEventListener("submit", onSubmit);

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
