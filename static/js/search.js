/* perfguide search: loads the index built by the build (src/search.rs) on first use of the
 * search box and searches it here. Plain JS, no dependencies, no network beyond the index
 * file itself, which is a script (not fetched JSON) so that pages opened from disk
 * (file://) can search too.
 *
 * The tokenizer and stemmer are a port of src/search.rs; a test runs both on a word list.
 * The file also loads under Node (module.exports) for that test. */
(function (global) {
  "use strict";

  /* ---------- Tokens and stems: keep in step with src/search.rs ---------- */

  var WORD = /[\p{Alphabetic}\p{N}]+/gu;

  function tokens(text) {
    var out = [];
    var m;
    WORD.lastIndex = 0;
    while ((m = WORD.exec(text)) !== null) out.push(m[0].toLowerCase());
    return out;
  }

  var BRITISH = ["isations", "isation", "isers", "ising", "ised", "ises", "iser", "ise"];

  /* "-ise" spellings become "-ize" so British and American spellings share a stem. */
  function americanize(w) {
    for (var i = 0; i < BRITISH.length; i++) {
      var e = BRITISH[i];
      if (w.length - e.length >= 3 && w.slice(-e.length) === e) {
        return w.slice(0, w.length - e.length) + "iz" + e.slice(2);
      }
    }
    return w;
  }

  /* M. F. Porter's algorithm, as in his reference C implementation. */
  function stem(word) {
    if (word.length <= 2 || !/^[a-z]+$/.test(word)) return word;
    var b = americanize(word);
    var k = b.length - 1;
    var j = 0;

    function cons(i) {
      var c = b.charAt(i);
      if (c === "a" || c === "e" || c === "i" || c === "o" || c === "u") return false;
      if (c === "y") return i === 0 ? true : !cons(i - 1);
      return true;
    }
    function m() {
      var n = 0, i = 0;
      for (;;) {
        if (i > j) return n;
        if (!cons(i)) break;
        i++;
      }
      i++;
      for (;;) {
        for (;;) {
          if (i > j) return n;
          if (cons(i)) break;
          i++;
        }
        i++;
        n++;
        for (;;) {
          if (i > j) return n;
          if (!cons(i)) break;
          i++;
        }
        i++;
      }
    }
    function vowelInStem() {
      for (var i = 0; i <= j; i++) if (!cons(i)) return true;
      return false;
    }
    function doubleC(x) {
      return x >= 1 && b.charAt(x) === b.charAt(x - 1) && cons(x);
    }
    function cvc(i) {
      if (i < 2 || !cons(i) || cons(i - 1) || !cons(i - 2)) return false;
      var c = b.charAt(i);
      return !(c === "w" || c === "x" || c === "y");
    }
    function ends(s) {
      var len = s.length;
      if (len > k + 1) return false;
      if (b.substring(k - len + 1, k + 1) !== s) return false;
      j = k - len;
      return true;
    }
    function setTo(s) {
      b = b.substring(0, j + 1) + s;
      k = j + s.length;
    }
    function r(s) { if (m() > 0) setTo(s); }
    function first(rules) {
      for (var i = 0; i < rules.length; i += 2) {
        if (ends(rules[i])) { r(rules[i + 1]); return; }
      }
    }

    // Step 1ab
    if (b.charAt(k) === "s") {
      if (ends("sses")) k -= 2;
      else if (ends("ies")) setTo("i");
      else if (b.charAt(k - 1) !== "s") k--;
    }
    if (ends("eed")) {
      if (m() > 0) k--;
    } else if ((ends("ed") || ends("ing")) && vowelInStem()) {
      k = j;
      if (ends("at")) setTo("ate");
      else if (ends("bl")) setTo("ble");
      else if (ends("iz")) setTo("ize");
      else if (doubleC(k)) {
        k--;
        var ch = b.charAt(k);
        if (ch === "l" || ch === "s" || ch === "z") k++;
      } else if (m() === 1 && cvc(k)) setTo("e");
    }
    if (k > 0) {
      // Step 1c
      if (ends("y") && vowelInStem()) b = b.substring(0, k) + "i";
      // Step 2
      if (k >= 1) {
        switch (b.charAt(k - 1)) {
          case "a": first(["ational", "ate", "tional", "tion"]); break;
          case "c": first(["enci", "ence", "anci", "ance"]); break;
          case "e": first(["izer", "ize"]); break;
          case "l": first(["bli", "ble", "alli", "al", "entli", "ent", "eli", "e", "ousli", "ous"]); break;
          case "o": first(["ization", "ize", "ation", "ate", "ator", "ate"]); break;
          case "s": first(["alism", "al", "iveness", "ive", "fulness", "ful", "ousness", "ous"]); break;
          case "t": first(["aliti", "al", "iviti", "ive", "biliti", "ble"]); break;
          case "g": first(["logi", "log"]); break;
        }
      }
      // Step 3
      switch (b.charAt(k)) {
        case "e": first(["icate", "ic", "ative", "", "alize", "al"]); break;
        case "i": first(["iciti", "ic"]); break;
        case "l": first(["ical", "ic", "ful", ""]); break;
        case "s": first(["ness", ""]); break;
      }
      // Step 4
      if (k >= 1) {
        var found = false;
        switch (b.charAt(k - 1)) {
          case "a": found = ends("al"); break;
          case "c": found = ends("ance") || ends("ence"); break;
          case "e": found = ends("er"); break;
          case "i": found = ends("ic"); break;
          case "l": found = ends("able") || ends("ible"); break;
          case "n": found = ends("ant") || ends("ement") || ends("ment") || ends("ent"); break;
          case "o":
            found = (ends("ion") && j >= 0 && (b.charAt(j) === "s" || b.charAt(j) === "t")) ||
              ends("ou");
            break;
          case "s": found = ends("ism"); break;
          case "t": found = ends("ate") || ends("iti"); break;
          case "u": found = ends("ous"); break;
          case "v": found = ends("ive"); break;
          case "z": found = ends("ize"); break;
        }
        if (found && m() > 1) k = j;
      }
      // Step 5
      j = k;
      if (b.charAt(k) === "e") {
        var a = m();
        if (a > 1 || (a === 1 && !cvc(k - 1))) k--;
      }
      if (b.charAt(k) === "l" && doubleC(k) && m() > 1) k--;
    }
    return b.substring(0, k + 1);
  }

  /* ---------- The index ---------- */

  var INDEX_GLOBAL = "perfguideSearchIndex";
  var TITLE_BIT = 64, HEADING_BIT = 32, TF_MASK = 31;

  /* Postings are packed base-32 numbers (src/search.rs `pack`): a digit from LAST ends a
   * number, one from MORE continues it. */
  var LAST = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef";
  var MORE = "ghijklmnopqrstuvwxyz0123456789-_";
  var DIGIT = {};
  for (var di = 0; di < 32; di++) {
    DIGIT[LAST.charAt(di)] = di;
    DIGIT[MORE.charAt(di)] = di + 32;
  }
  function unpack(s) {
    var out = [];
    var acc = 0;
    for (var i = 0; i < s.length; i++) {
      var d = DIGIT[s.charAt(i)];
      if (d >= 32) acc = acc * 32 + d - 32;
      else { out.push(acc * 32 + d); acc = 0; }
    }
    return out;
  }

  /* Prepares a loaded index for querying: document lengths for the ranking. */
  function prepare(raw) {
    var lens = new Array(raw.docs.length);
    var total = 0;
    for (var i = 0; i < raw.docs.length; i++) {
      lens[i] = raw.docs[i][3].length / 6 + 1;
      total += lens[i];
    }
    var stop = {};
    for (var s = 0; s < raw.stop.length; s++) stop[raw.stop[s]] = true;
    return {
      raw: raw,
      postings: new Array(raw.terms.length), // unpacked on first use
      lens: lens,
      avgLen: raw.docs.length ? total / raw.docs.length : 1,
      stop: stop,
      config: raw.config || { limit: 20, titleBoost: 3, headingBoost: 2 }
    };
  }

  /* The first index of a term >= s (terms are sorted as JS compares strings). */
  function lowerBound(terms, s) {
    var lo = 0, hi = terms.length;
    while (lo < hi) {
      var mid = (lo + hi) >>> 1;
      if (terms[mid] < s) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  /* The query's terms: raw (lowercased) and stemmed, without duplicates, numbers and stop
   * words (the index has neither). */
  function queryTerms(idx, q) {
    var all = tokens(q);
    var seen = {};
    var out = [];
    for (var i = 0; i < all.length; i++) {
      var t = all[i];
      if (seen[t] || /^\p{N}+$/u.test(t)) continue;
      seen[t] = true;
      if (idx.stop[t]) continue;
      out.push({ raw: t, stem: stem(t) });
    }
    return out;
  }

  /* Index terms that a query term matches, with a weight: the exact stem 1, longer words
   * that start with it (prefix search while typing) less, and a stem that the typed word
   * extends by at most three letters ("vectori" finds "vector") less still. */
  function matchingTerms(idx, qt) {
    var terms = idx.raw.terms;
    var found = {};
    var list = [];
    function add(ti, w) {
      if (found[ti] === undefined) { found[ti] = list.length; list.push([ti, w]); }
      else if (list[found[ti]][1] < w) list[found[ti]][1] = w;
    }
    var prefixes = qt.raw === qt.stem ? [qt.stem] : [qt.stem, qt.raw];
    for (var p = 0; p < prefixes.length; p++) {
      var s = prefixes[p];
      for (var i = lowerBound(terms, s); i < terms.length && terms[i].lastIndexOf(s, 0) === 0; i++) {
        add(i, terms[i] === s ? 1 : 0.5 + 0.4 * s.length / terms[i].length);
      }
    }
    var raw = qt.raw;
    for (var len = Math.max(3, raw.length - 3); len < raw.length; len++) {
      var pre = raw.slice(0, len);
      var at = lowerBound(terms, pre);
      if (at < terms.length && terms[at] === pre) add(at, 0.7 * len / raw.length);
    }
    return list;
  }

  /* Searches the index; returns the best sections, best first. */
  function search(idx, q, limit) {
    var qts = queryTerms(idx, q);
    if (!qts.length) return [];
    var raw = idx.raw;
    var n = raw.docs.length;
    var cfg = idx.config;
    var scores = {};    // doc -> total score
    var matched = {};   // doc -> number of query terms matched
    for (var qi = 0; qi < qts.length; qi++) {
      var best = {};
      var terms = matchingTerms(idx, qts[qi]);
      for (var t = 0; t < terms.length; t++) {
        var ti = terms[t][0];
        var post = idx.postings[ti] || (idx.postings[ti] = unpack(raw.postings[ti]));
        var weight = terms[t][1];
        var df = post.length / 2;
        var idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
        var doc = 0;
        for (var p = 0; p < post.length; p += 2) {
          doc += post[p];
          var v = post[p + 1];
          var tf = v & TF_MASK;
          var body = tf ? tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * idx.lens[doc] / idx.avgLen)) : 0;
          var s = idf * weight * (body +
            (v & TITLE_BIT ? cfg.titleBoost : 0) + (v & HEADING_BIT ? cfg.headingBoost : 0));
          if (!(best[doc] >= s)) best[doc] = s;
        }
      }
      for (var d in best) {
        scores[d] = (scores[d] || 0) + best[d];
        matched[d] = (matched[d] || 0) + 1;
      }
    }
    // Sections that match every term when there are any, else those that match the most.
    var most = 0;
    for (var dm in matched) if (matched[dm] > most) most = matched[dm];
    var docs = [];
    for (var ds in scores) if (matched[ds] === most) docs.push(+ds);
    docs.sort(function (a, b) { return scores[b] - scores[a] || a - b; });
    docs = docs.slice(0, limit || cfg.limit);
    var out = [];
    for (var i = 0; i < docs.length; i++) {
      var e = raw.docs[docs[i]];
      var ch = raw.chapters[e[0]];
      out.push({
        doc: docs[i],
        number: ch[0],
        chapter: ch[1],
        section: e[1],
        url: ch[2] + (e[2] ? "#" + e[2] : ""),
        text: e[3],
        score: scores[docs[i]],
        terms: qts
      });
    }
    return out;
  }

  /* ---------- Snippets ---------- */

  function escapeHtml(s) {
    return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;");
  }

  function wordMatches(word, qts) {
    var w = word.toLowerCase();
    var sw = stem(w);
    for (var i = 0; i < qts.length; i++) {
      var q = qts[i];
      if (sw.lastIndexOf(q.stem, 0) === 0 || w.lastIndexOf(q.raw, 0) === 0) return true;
      if (sw.length >= Math.max(3, q.raw.length - 3) && q.raw.lastIndexOf(sw, 0) === 0) return true;
    }
    return false;
  }

  /* `text` (or the part from `start` to `end`) as HTML with the matching words in <mark>. */
  function highlight(text, qts, start, end) {
    start = start || 0;
    end = end === undefined ? text.length : end;
    var part = text.slice(start, end);
    var out = "";
    var last = 0;
    var m;
    WORD.lastIndex = 0;
    while ((m = WORD.exec(part)) !== null) {
      if (wordMatches(m[0], qts)) {
        out += escapeHtml(part.slice(last, m.index)) + "<mark>" + escapeHtml(m[0]) + "</mark>";
        last = m.index + m[0].length;
      }
    }
    return out + escapeHtml(part.slice(last));
  }

  var SNIPPET = 180;

  /* About SNIPPET characters of the section around its first matching word. */
  function snippet(text, qts) {
    var at = -1;
    var m;
    WORD.lastIndex = 0;
    while ((m = WORD.exec(text)) !== null) {
      if (wordMatches(m[0], qts)) { at = m.index; break; }
    }
    var start = 0;
    if (at > SNIPPET / 3) {
      start = text.indexOf(" ", at - SNIPPET / 3);
      start = start < 0 || start > at ? at : start + 1;
    }
    var end = Math.min(text.length, start + SNIPPET);
    if (end < text.length) {
      var sp = text.lastIndexOf(" ", end);
      if (sp > start + SNIPPET / 2) end = sp;
    }
    return (start > 0 ? "… " : "") + highlight(text, qts, start, end) +
      (end < text.length ? " …" : "");
  }

  var api = {
    tokens: tokens,
    stem: stem,
    unpack: unpack,
    prepare: prepare,
    search: search,
    snippet: snippet,
    highlight: highlight
  };

  if (typeof module !== "undefined" && module.exports) module.exports = api;
  if (typeof document === "undefined") return;

  /* ---------- The search box ---------- */

  var me = document.currentScript ||
    document.querySelector('script[src*="js/search.js"]');
  var scriptUrl = me ? me.src : "";
  var index = null;
  var loading = false;
  var waiting = [];

  function indexUrl() {
    var version = "";
    try { version = new URL(scriptUrl).searchParams.get("index") || ""; } catch (e) { /* keep "" */ }
    var base = scriptUrl.replace(/js\/search\.js(\?.*)?$/, "");
    return base + "search-index.js" + (version ? "?v=" + encodeURIComponent(version) : "");
  }

  function siteRoot() {
    return scriptUrl.replace(/js\/search\.js(\?.*)?$/, "");
  }

  /* Loads the index once; `done(error)` runs when it is there or failed. */
  function load(done) {
    if (index) { done(null); return; }
    if (global[INDEX_GLOBAL]) {
      index = prepare(global[INDEX_GLOBAL]);
      done(null);
      return;
    }
    waiting.push(done);
    if (loading) return;
    loading = true;
    var s = document.createElement("script");
    s.src = indexUrl();
    s.async = true;
    function finish(err) {
      loading = false;
      if (!err && global[INDEX_GLOBAL]) index = prepare(global[INDEX_GLOBAL]);
      else err = err || new Error("the index file did not define the index");
      var list = waiting;
      waiting = [];
      for (var i = 0; i < list.length; i++) list[i](err);
    }
    s.onload = function () { finish(null); };
    s.onerror = function () { finish(new Error("could not load " + s.src)); };
    document.head.appendChild(s);
  }

  function setup() {
    var input = document.getElementById("search");
    var box = document.getElementById("search-results");
    if (!input || !box) return;
    var container = input.closest ? input.closest(".search") : input.parentNode;
    // Announced to screen readers: the number of results, never the whole list.
    var status = document.createElement("p");
    status.id = "search-status";
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    (container || document.body).appendChild(status);
    var root = siteRoot();
    var lastQuery = null;

    function links() { return box.querySelectorAll("a"); }

    function close() {
      box.hidden = true;
      box.innerHTML = "";
      lastQuery = null;
    }

    function render(q) {
      var results = search(index, q);
      var html = "";
      if (!results.length) {
        html = '<p class="search-status">No results for “' + escapeHtml(q) + '”</p>';
      } else {
        html = '<ul aria-label="Search results">';
        for (var i = 0; i < results.length; i++) {
          var r = results[i];
          var title = (r.number ? escapeHtml(r.number) + " " : "") + highlight(r.chapter, r.terms);
          html += '<li><a href="' + escapeHtml(root + r.url) + '">' +
            '<span class="result-title">' + title +
            (r.section ? '<span class="result-section"> › ' + highlight(r.section, r.terms) + "</span>" : "") +
            '</span><span class="result-snippet">' + snippet(r.text, r.terms) + "</span></a></li>";
        }
        html += "</ul>";
      }
      box.innerHTML = html;
      box.hidden = false;
      status.textContent = results.length
        ? results.length + (results.length === 1 ? " result" : " results") +
          " for " + q + ". Press the down arrow to go through them."
        : "No results for " + q;
    }

    function run() {
      var q = input.value.trim();
      if (q === lastQuery) return;
      if (!q) { close(); status.textContent = ""; return; }
      if (!index) {
        box.innerHTML = '<p class="search-status">Loading the search index…</p>';
        box.hidden = false;
        load(function (err) {
          if (err) {
            box.innerHTML = '<p class="search-status">The search index could not be loaded.</p>';
            status.textContent = "The search index could not be loaded.";
          } else {
            run();
          }
        });
        return;
      }
      lastQuery = q;
      render(q);
    }

    input.addEventListener("focus", function () { load(function () {}); });
    input.addEventListener("input", run);
    input.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown") {
        var l = links();
        if (l.length) { e.preventDefault(); l[0].focus(); }
      } else if (e.key === "Enter") {
        e.preventDefault();
        run();
        var first = links()[0];
        if (first) first.click();
      } else if (e.key === "Escape" && !box.hidden) {
        // The first Escape closes the results; the next one leaves the box (site.js).
        e.preventDefault();
        close();
      }
    });
    box.addEventListener("keydown", function (e) {
      var l = Array.prototype.slice.call(links());
      var at = l.indexOf(document.activeElement);
      if (at < 0) return;
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        var next = at + (e.key === "ArrowDown" ? 1 : -1);
        if (next < 0) input.focus();
        else if (next < l.length) l[next].focus();
      } else if (e.key === "Home" || e.key === "End") {
        e.preventDefault();
        l[e.key === "Home" ? 0 : l.length - 1].focus();
      } else if (e.key === "Escape") {
        e.preventDefault();
        close();
        input.focus();
      } else if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
        // Not previous/next chapter while choosing a result.
        e.preventDefault();
      }
    });
    // A result on this same page only changes the fragment: close the list then too.
    box.addEventListener("click", function (e) {
      if (e.target.closest && e.target.closest("a")) close();
    });
    document.addEventListener("click", function (e) {
      if (!box.hidden && container && !container.contains(e.target)) close();
    });
  }

  api.load = load;
  api.query = function (q, limit) { return index ? search(index, q, limit) : null; };
  global.perfguideSearch = api;

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})(typeof window !== "undefined" ? window : globalThis);
