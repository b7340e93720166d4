// The timeline's pages (timeline.rs): inflates the operations' columns (columns.rs) once, then
// draws the page asked for as one SVG — the document holds one page's bars, however long the
// history. Every text from the history goes through esc() before it becomes markup.
(function () {
  var root = document.getElementById('timeline'), packed = document.getElementById('timeline-ops');
  var WIDTH = 1100, LEFT = 70, RIGHT = 15, ROW = 14, BAR = 10, TOP = 16;
  var WORDS = ['ok', 'fail', 'info', 'open'];
  var cols = null, start = null, wanted = 1;

  function esc(s) {
    return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  }
  // One decimal, as the server-drawn charts write coordinates.
  function c(v) { return Math.round((isFinite(v) ? v : 0) * 10) / 10; }
  // data.rs's secs() and dur(), from µs.
  function secs(us) { return (us / 1e6).toFixed(3) + ' s'; }
  function dur(us) {
    var ms = us / 1e3;
    return ms >= 1e4 ? (ms / 1e3).toFixed(1) + ' s' : ms >= 100 ? ms.toFixed(0) + ' ms'
      : ms >= 1 ? ms.toFixed(1) + ' ms' : us.toFixed(0) + ' µs';
  }
  // svg.rs's nice_step() and tick_label(), in µs.
  function niceStep(raw) {
    raw = Math.max(1, raw);
    for (var p = 1; ; p *= 10) for (var m of [1, 2, 5]) if (m * p >= raw) return m * p;
  }
  function tickLabel(t, step) {
    var d = step >= 1e6 ? 0 : step >= 1e5 ? 1 : step >= 1e4 ? 2 : step >= 1e3 ? 3 : 6;
    return (t / 1e6).toFixed(d) + ' s';
  }

  function draw(k) {
    var n = cols.t.length, a = (k - 1) * cols.page, b = Math.min(n, a + cols.page);
    var t0 = Infinity, t1 = -Infinity, rows = new Map(), i;
    for (i = a; i < b; i++) {
      t0 = Math.min(t0, start[i]);
      t1 = Math.max(t1, cols.d[i] < 0 ? start[i] : start[i] + cols.d[i]);
      rows.set(cols.p[i], null);
    }
    var range = secs(t0) + ' – ' + secs(t1);
    // An op that never completed runs to the end of the page.
    t1 = Math.max(t1, t0 + 1);
    var x = function (t) { return LEFT + Math.min(1, Math.max(0, t - t0) / (t1 - t0)) * (WIDTH - RIGHT - LEFT); };
    var procs = Array.from(rows.keys()).sort(function (p, q) { return p - q; });
    procs.forEach(function (p) { rows.set(p, []); });
    var bottom = TOP + procs.length * ROW, height = bottom + 24, out = [];
    out.push('<svg class="chart timeline" viewBox="0 0 ' + WIDTH + ' ' + Math.ceil(c(height)) + '" width="' + WIDTH + '" height="' + c(height) + '">');
    out.push('<g class="faults">');
    cols.faults.forEach(function (f) {
      if (f[3] < t0 || f[2] > t1) return;
      var fa = x(f[2]), fb = x(f[3]);
      out.push('<rect class="' + esc(f[0]) + '" x="' + c(fa) + '" y="0" width="' + c(Math.max(1, fb - fa)) + '" height="' + c(bottom) + '"><title>'
        + esc(f[1]) + ' from ' + secs(f[2]) + ' to ' + secs(f[3]) + ' (' + dur(f[3] - f[2]) + ')</title></rect>'
        + '<text class="flabel" x="' + c(fa + 2) + '" y="9">' + esc(f[1]) + '</text>');
    });
    cols.marks.forEach(function (m) {
      if (m[0] < t0 || m[0] > t1) return;
      out.push('<line class="mark" x1="' + c(x(m[0])) + '" x2="' + c(x(m[0])) + '" y1="0" y2="' + c(bottom) + '"><title>'
        + esc(m[1]) + ' at ' + secs(m[0]) + '</title></line>');
    });
    out.push('</g><g class="axis"><line x1="' + LEFT + '" x2="' + (WIDTH - RIGHT) + '" y1="' + c(bottom + 2) + '" y2="' + c(bottom + 2) + '"></line>');
    var step = niceStep((t1 - t0) / 10);
    for (var t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
      out.push('<line class="grid" x1="' + c(x(t)) + '" x2="' + c(x(t)) + '" y1="' + TOP + '" y2="' + c(bottom + 2) + '"></line>'
        + '<text x="' + c(x(t)) + '" y="' + c(bottom + 16) + '" text-anchor="middle">' + tickLabel(t, step) + '</text>');
    }
    out.push('</g>');
    for (i = a; i < b; i++) rows.get(cols.p[i]).push(i);
    procs.forEach(function (p, r) {
      out.push('<g transform="translate(0,' + (TOP + r * ROW) + ')"><text class="rowlabel" x="' + (LEFT - 4) + '" y="' + BAR + '" text-anchor="end">p' + esc(p) + '</text>');
      rows.get(p).forEach(function (j) {
        var open = cols.d[j] < 0, xa = x(start[j]), xb = x(open ? t1 : start[j] + cols.d[j]);
        out.push('<rect class="' + WORDS[cols.o[j]] + '" x="' + c(xa) + '" width="' + c(Math.max(0.8, xb - xa)) + '" height="' + BAR + '"><title>p'
          + esc(p) + ' ' + esc(cols.strings[cols.s[j]]) + ' ' + secs(start[j]) + (open ? '' : ' +' + dur(cols.d[j])) + '</title></rect>');
      });
      out.push('</g>');
    });
    out.push('</svg>');
    root.querySelector('.view').innerHTML = out.join('');
    root.dataset.page = k;
    root.querySelector('.pageno').textContent = 'page ' + k + ' of ' + root.dataset.pages;
    root.querySelector('.pagerange').textContent = range;
    document.querySelectorAll('svg.overview rect.band').forEach(function (r) {
      r.classList.toggle('shown', +r.dataset.page === k);
    });
  }

  // The pager's buttons (d: -1 or 1); before the columns are inflated, the page is remembered.
  window.flPage = function (id, d) {
    var h = document.getElementById(id), n = +h.dataset.pages;
    var k = Math.min(n, Math.max(1, (cols ? +h.dataset.page : wanted) + d));
    wanted = k;
    if (cols && k !== +h.dataset.page) draw(k);
  };
  document.querySelectorAll('svg.overview rect.band').forEach(function (r) {
    r.addEventListener('click', function () { wanted = +r.dataset.page; if (cols) draw(wanted); });
  });

  if (!root || !packed) return;
  function failed(e) {
    root.querySelector('.view').textContent = 'The timeline could not be drawn: ' + e;
    root.dataset.failed = '';
    document.dispatchEvent(new Event('fl-timeline'));
  }
  try {
    var text = atob(packed.textContent.trim()), bytes = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    // Read once: the document need not carry megabytes of base64 any longer.
    packed.textContent = '';
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
    new Response(stream).json().then(function (j) {
      cols = j;
      start = new Float64Array(j.t.length);
      for (var i = 0, t = 0; i < j.t.length; i++) start[i] = t += j.t[i];
      draw(wanted);
      root.dataset.drawn = '';
      // browser.rs's probe waits for it.
      document.dispatchEvent(new Event('fl-timeline'));
    }).catch(failed);
  } catch (e) { failed(e); }
})();
