/* perfguide site script: theme toggle, sidebar drawer, keyboard shortcuts, code-block buttons,
 * on-page contents highlighting. Plain JS, no dependencies, no network. The theme itself is
 * applied by the inline script in <head> (same storage key) so pages never flash. */
(function () {
  "use strict";

  var root = document.documentElement;
  var THEME_KEY = "perfguide-theme";
  var SIDEBAR_KEY = "perfguide-sidebar";

  function store(key, value) {
    try {
      if (value === null) localStorage.removeItem(key);
      else localStorage.setItem(key, value);
    } catch (e) { /* storage disabled: the choice lasts for this page only */ }
  }
  function load(key) {
    try { return localStorage.getItem(key); } catch (e) { return null; }
  }

  /* ---------- Theme: light / dark / follow the system ---------- */

  var darkQuery = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  var NAMES = { system: "follow the system", light: "light", dark: "dark" };
  var NEXT = { system: "light", light: "dark", dark: "system" };

  function preference() {
    var p = load(THEME_KEY);
    return p === "light" || p === "dark" ? p : "system";
  }
  function effective(pref) {
    if (pref !== "system") return pref;
    return darkQuery && darkQuery.matches
      ? root.getAttribute("data-dark-theme") || "dark"
      : root.getAttribute("data-default-theme") || "light";
  }
  function applyTheme(pref) {
    root.setAttribute("data-theme", effective(pref));
    root.setAttribute("data-theme-pref", pref);
    var button = document.getElementById("theme-toggle");
    if (button) {
      var label = "Colour theme: " + NAMES[pref] +
        (pref === "system" ? " (now " + effective(pref) + ")" : "") +
        ". Switch to " + NAMES[NEXT[pref]];
      button.setAttribute("aria-label", label);
      button.setAttribute("title", label);
    }
  }
  function setupTheme() {
    applyTheme(preference());
    var button = document.getElementById("theme-toggle");
    if (button) {
      button.addEventListener("click", function () {
        var next = NEXT[preference()];
        store(THEME_KEY, next === "system" ? null : next);
        applyTheme(next);
      });
    }
    if (darkQuery) {
      var onChange = function () { if (preference() === "system") applyTheme("system"); };
      if (darkQuery.addEventListener) darkQuery.addEventListener("change", onChange);
      else if (darkQuery.addListener) darkQuery.addListener(onChange);
    }
    // Another tab changed the theme.
    window.addEventListener("storage", function (e) {
      if (e.key === THEME_KEY) applyTheme(preference());
    });
  }

  /* ---------- Sidebar: a column on wide screens, a drawer on narrow ones ---------- */

  var wideQuery = window.matchMedia ? window.matchMedia("(min-width: 1000px)") : null;
  function isWide() { return !wideQuery || wideQuery.matches; }

  function setupSidebar() {
    var button = document.getElementById("sidebar-toggle");
    var sidebar = document.getElementById("sidebar");
    var scrim = document.querySelector(".sidebar-scrim");
    if (!button || !sidebar) return;

    function sync() {
      var visible = isWide()
        ? !root.classList.contains("sidebar-hidden")
        : root.classList.contains("sidebar-open");
      button.setAttribute("aria-expanded", visible ? "true" : "false");
      if (scrim) scrim.hidden = isWide() || !visible;
    }
    function openDrawer() {
      root.classList.add("sidebar-open");
      sync();
      var target = sidebar.querySelector('[aria-current="page"]') || sidebar.querySelector("a");
      if (target) target.focus({ preventScroll: false });
    }
    function closeDrawer(returnFocus) {
      if (!root.classList.contains("sidebar-open")) return;
      root.classList.remove("sidebar-open");
      sync();
      if (returnFocus) button.focus();
    }

    button.addEventListener("click", function () {
      if (isWide()) {
        var hidden = root.classList.toggle("sidebar-hidden");
        store(SIDEBAR_KEY, hidden ? "hidden" : null);
        sync();
      } else if (root.classList.contains("sidebar-open")) {
        closeDrawer(false);
      } else {
        openDrawer();
      }
    });
    if (scrim) scrim.addEventListener("click", function () { closeDrawer(true); });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && root.classList.contains("sidebar-open")) {
        closeDrawer(true);
      }
    });
    // Following a link inside the drawer to an anchor of this page closes it.
    sidebar.addEventListener("click", function (e) {
      if (!isWide() && e.target.closest && e.target.closest("a")) closeDrawer(false);
    });
    if (wideQuery) {
      var onChange = function () { root.classList.remove("sidebar-open"); sync(); };
      if (wideQuery.addEventListener) wideQuery.addEventListener("change", onChange);
      else if (wideQuery.addListener) wideQuery.addListener(onChange);
    }
    sync();

    // Bring the current chapter into view in a long chapter list.
    var current = sidebar.querySelector('[aria-current="page"]');
    if (current && isWide()) {
      var box = sidebar.getBoundingClientRect();
      var r = current.getBoundingClientRect();
      if (r.top < box.top || r.bottom > box.bottom) {
        sidebar.scrollTop += r.top - box.top - box.height / 3;
      }
    }
  }

  /* ---------- Keyboard: ←/→ previous/next chapter, / or s search ---------- */

  function isTyping(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }
  function scrollsSideways(el) {
    return el && el !== document.body && el.scrollWidth > el.clientWidth + 1 &&
      /(auto|scroll)/.test(getComputedStyle(el).overflowX);
  }

  function setupKeys() {
    document.addEventListener("keydown", function (e) {
      if (e.defaultPrevented || e.ctrlKey || e.altKey || e.metaKey) return;
      var active = document.activeElement;
      if (e.key === "Escape" && active && active.id === "search") {
        active.blur();
        return;
      }
      if (isTyping(active) || (e.target && isTyping(e.target))) return;
      if (e.key === "/" || e.key === "s" || e.key === "S") {
        var search = document.getElementById("search");
        if (search) {
          e.preventDefault();
          search.focus();
          search.select();
        }
        return;
      }
      if (e.shiftKey) return;
      if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
        // A focused code block or wide table scrolls with the arrows instead.
        if (scrollsSideways(active)) return;
        var rel = e.key === "ArrowLeft" ? "prev" : "next";
        var link = document.querySelector('.pager a[rel="' + rel + '"]');
        if (link && link.href) {
          e.preventDefault();
          window.location.href = link.href;
        }
      }
    });
  }

  /* ---------- Code blocks: copy button, hidden lines ---------- */

  var COPY_ICON = '<svg aria-hidden="true" viewBox="0 0 24 24" width="16" height="16"><rect x="9" y="9" width="11" height="11" rx="2" fill="none" stroke="currentColor" stroke-width="2"/><path d="M5 15V5a1 1 0 0 1 1-1h9" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"/></svg>';
  var CHECK_ICON = '<svg aria-hidden="true" viewBox="0 0 24 24" width="16" height="16"><path d="M5 12.5l4.5 4.5L19 7.5" fill="none" stroke="currentColor" stroke-width="2.5" stroke-linecap="round" stroke-linejoin="round"/></svg>';
  var EYE_ICON = '<svg aria-hidden="true" viewBox="0 0 24 24" width="16" height="16"><path d="M2 12s3.6-7 10-7 10 7 10 7-3.6 7-10 7S2 12 2 12z" fill="none" stroke="currentColor" stroke-width="2"/><circle cx="12" cy="12" r="3" fill="none" stroke="currentColor" stroke-width="2"/></svg>';

  var announcer = null;
  function announce(text) {
    if (!announcer) {
      announcer = document.createElement("div");
      announcer.className = "visually-hidden";
      announcer.setAttribute("aria-live", "polite");
      document.body.appendChild(announcer);
    }
    announcer.textContent = "";
    setTimeout(function () { announcer.textContent = text; }, 50);
  }

  /* The text a reader wants on the clipboard: console blocks give only the commands (no
   * prompts, no output); other blocks give everything, hidden lines included, as mdBook
   * does, so that a copied Rust example compiles. */
  function codeText(code) {
    var clone = code.cloneNode(true);
    var isSession = !!clone.querySelector(".hl-prompt");
    var drop = clone.querySelectorAll(isSession ? ".hl-prompt, .hl-output" : ".hl-prompt");
    for (var i = 0; i < drop.length; i++) drop[i].parentNode.removeChild(drop[i]);
    return clone.textContent.replace(/\s+$/, "") + "\n";
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(area);
      if (ok) resolve(); else reject(new Error("copy failed"));
    });
  }

  function makeButton(cls, label, icon) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "code-button " + cls;
    b.setAttribute("aria-label", label);
    b.title = label;
    b.innerHTML = icon;
    return b;
  }

  function setupCodeBlocks() {
    var blocks = document.querySelectorAll("pre > code");
    for (var i = 0; i < blocks.length; i++) {
      var code = blocks[i];
      var pre = code.parentNode;
      if (pre.parentNode && pre.parentNode.classList &&
          pre.parentNode.classList.contains("code-block")) continue;
      var wrap = document.createElement("div");
      wrap.className = "code-block";
      pre.parentNode.insertBefore(wrap, pre);
      wrap.appendChild(pre);
      var buttons = document.createElement("div");
      buttons.className = "code-buttons";

      if (code.querySelector(".hl-boring")) {
        var eye = makeButton("toggle-hidden", "Show hidden lines", EYE_ICON);
        eye.setAttribute("aria-pressed", "false");
        eye.addEventListener("click", (function (pre, eye) {
          return function () {
            var shown = pre.classList.toggle("hl-show-hidden");
            eye.setAttribute("aria-pressed", shown ? "true" : "false");
            var label = shown ? "Hide hidden lines" : "Show hidden lines";
            eye.setAttribute("aria-label", label);
            eye.title = label;
          };
        })(pre, eye));
        buttons.appendChild(eye);
      }

      var copy = makeButton("copy-button", "Copy code", COPY_ICON);
      copy.addEventListener("click", (function (code, copy) {
        return function () {
          copyText(codeText(code)).then(function () {
            copy.classList.add("copied");
            copy.innerHTML = CHECK_ICON;
            announce("Copied to the clipboard");
            setTimeout(function () {
              copy.classList.remove("copied");
              copy.innerHTML = COPY_ICON;
            }, 1800);
          }, function () {
            announce("Could not copy: select the text and copy it by hand");
          });
        };
      })(code, copy));
      buttons.appendChild(copy);
      wrap.appendChild(buttons);
    }
  }

  /* ---------- Wide tables and code: scroll sideways, reachable by keyboard ---------- */

  function setupScrollables() {
    var tables = document.querySelectorAll(".chapter table");
    for (var i = 0; i < tables.length; i++) {
      var t = tables[i];
      if (t.parentNode.classList && t.parentNode.classList.contains("table-wrap")) continue;
      var wrap = document.createElement("div");
      wrap.className = "table-wrap";
      t.parentNode.insertBefore(wrap, t);
      wrap.appendChild(t);
    }
    markScrollables();
    var timer = null;
    window.addEventListener("resize", function () {
      clearTimeout(timer);
      timer = setTimeout(markScrollables, 150);
    });
  }
  /* A region that scrolls must be focusable so keyboard users can scroll it (WCAG 2.1.1). */
  function markScrollables() {
    var els = document.querySelectorAll("pre, .table-wrap, math[display=block], .chart");
    for (var i = 0; i < els.length; i++) {
      var el = els[i];
      var scrolls = el.scrollWidth > el.clientWidth + 1;
      if (scrolls && !el.hasAttribute("tabindex")) {
        el.setAttribute("tabindex", "0");
        el.setAttribute("data-scroll-focus", "");
        if (el.classList.contains("table-wrap")) {
          el.setAttribute("role", "region");
          var cap = el.querySelector("caption");
          el.setAttribute("aria-label", cap ? cap.textContent.trim() : "Table (scrolls sideways)");
        }
      } else if (!scrolls && el.hasAttribute("data-scroll-focus")) {
        el.removeAttribute("tabindex");
        el.removeAttribute("data-scroll-focus");
        if (el.classList.contains("table-wrap")) {
          el.removeAttribute("role");
          el.removeAttribute("aria-label");
        }
      }
    }
  }

  /* ---------- On-page contents: mark the section being read ---------- */

  function setupTocSpy() {
    var links = document.querySelectorAll(".page-toc a[href^='#']");
    if (!links.length) return;
    var items = [];
    for (var i = 0; i < links.length; i++) {
      var id = decodeURIComponent(links[i].getAttribute("href").slice(1));
      var heading = document.getElementById(id);
      if (heading) items.push({ link: links[i], heading: heading });
    }
    var current = null;
    var pending = false;
    function update() {
      pending = false;
      var offset = 120;
      var found = items.length ? items[0] : null;
      for (var i = 0; i < items.length; i++) {
        if (items[i].heading.getBoundingClientRect().top <= offset) found = items[i];
        else break;
      }
      // At the very bottom, the last section is the one being read.
      if (window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 2) {
        found = items[items.length - 1];
      }
      if (found !== current) {
        if (current) current.link.classList.remove("active");
        if (found) found.link.classList.add("active");
        current = found;
      }
    }
    window.addEventListener("scroll", function () {
      if (!pending) {
        pending = true;
        window.requestAnimationFrame(update);
      }
    }, { passive: true });
    update();
  }

  /* Task-list checkboxes (pulldown-cmark emits bare disabled inputs): name them by their item's
   * text so screen readers announce "Build the kernels, checkbox, checked". The render stage
   * may label them itself; then this does nothing. */
  function labelTaskCheckboxes() {
    var boxes = document.querySelectorAll("li > input[type=checkbox]");
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i];
      if (box.hasAttribute("aria-label") || box.hasAttribute("aria-labelledby") ||
          (box.labels && box.labels.length)) continue;
      var text = box.parentNode.textContent.replace(/\s+/g, " ").trim();
      box.setAttribute("aria-label", text || (box.checked ? "Done" : "To do"));
    }
  }

  function init() {
    setupTheme();
    setupSidebar();
    setupKeys();
    setupCodeBlocks();
    setupScrollables();
    setupTocSpy();
    labelTaskCheckboxes();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
