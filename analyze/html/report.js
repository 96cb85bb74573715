// SPDX-License-Identifier: MIT
// The script of the page `ctrace export --format html` writes (embedded by the build).
// It reads the JSON document of the element #ctrace-data (written by analyze/exp_html.c)
// and draws, with the DOM, SVG and a canvas only: the summary and warnings, a flame graph
// per profile (click zooms, search highlights), the per-thread timeline (waits coloured by
// kind, release->wait arrows, drag to pan, wheel to zoom, drag on the time axis to select
// a range that filters the tables), the sortable objects table, each convoy's windows,
// the threads table, deadlocks and wait chains. It fetches nothing.
'use strict';
(function () {
  const D = JSON.parse(document.getElementById('ctrace-data').textContent);
  const S = D.strings;
  // The traces, objects, threads and chain links are report --json's records
  // (analyze/README.md); the page reads a few of their fields under shorter names.
  const base = p => String(p).split('/').pop();
  const siteOf = fs => {
    const f = fs && fs[0];
    if (!f) return '-';
    if (f.file) return f.func + ' (' + base(f.file) + ':' + f.line + ')';
    if (f.module && f.func === '??') return base(f.module) + '+' + f.offset;
    return f.func;
  };
  for (const x of D.traces) {
    Object.assign(x, { exe: x.exe ? base(x.exe) : '?', lost: x.lost_events, window_ns: x.to_ns - x.from_ns });
  }
  for (const o of D.objects) {
    Object.assign(o, { addr: o.address, waits: o.contended, total_ns: o.wait_total_ns, max_ns: o.wait_max_ns,
      p50_ns: o.wait_p50_ns, p99_ns: o.wait_p99_ns, site: siteOf(o.frames) });
    const v = o.convoy_evidence;
    if (v) o.convoy_ev = Object.assign({}, v, { series: v.series.map(w => [w.start_ns, w.mean_waiters, w.empty_fraction, w.convoy]) });
    delete o.histogram; delete o.frames; delete o.first_seen; delete o.convoy_evidence;
  }
  for (const t of D.threads) {
    const b = t.blocked_ns;
    Object.assign(t, { start: t.start_func || '?', runq_ns: t.runqueue_ns, blocked: [0, b.sync, b.net, b.syscall, b.sleep] });
  }
  const linkOf = l => Object.assign(l, { obj: l.waits_on, held_at: l.held_frames_recorded ? siteOf(l.held_frames) : null });
  D.deadlocks.forEach(d => d.forEach(linkOf));
  D.chains.forEach(linkOf);
  const PROFILES = ['none', 'sync', 'net', 'syscall', 'sleep'];
  const app = document.getElementById('app');
  // The state a test (or a curious reader) can look at.
  const stats = window.ctraceReport = { arrows: 0, slices: 0, flameZoom: null, errors: [] };

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) {
      if (k === 'class') e.className = attrs[k];
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), attrs[k]);
      else e.setAttribute(k, attrs[k]);
    }
    for (const c of kids) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }
  function svgEl(tag, attrs) {
    const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    return e;
  }
  function dur(ns) {
    ns = Number(ns);
    if (ns < 1000) return ns.toFixed(0) + 'ns';
    const units = [[1e9, 's'], [1e6, 'ms'], [1e3, 'us']];
    for (const [d, u] of units) {
      if (ns >= d) {
        const v = ns / d;
        return (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)) + u;
      }
    }
    return ns + 'ns';
  }
  // Colours by wait kind: a fixed palette for the common ones, a hash for the rest.
  const KIND_COLOURS = { mutex: '#d9534f', cond: '#f0ad4e', rwlock_rd: '#8e6bbf',
    rwlock_wr: '#6f42c1', join: '#5bc0de', sem: '#20a39e', barrier: '#a0522d',
    spin: '#e83e8c', sleep: '#9aa5b1', runnable: '#2ca02c' };
  function kindColour(k) {
    if (KIND_COLOURS[k]) return KIND_COLOURS[k];
    let h = 0;
    for (const ch of k) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
    return 'hsl(' + (h % 360) + ',55%,55%)';
  }
  function frameColour(name) {
    let h = 0;
    for (const ch of name) h = (h * 33 + ch.charCodeAt(0)) >>> 0;
    return 'hsl(' + (10 + h % 40) + ',' + (60 + h % 25) + '%,' + (55 + h % 15) + '%)';
  }

  // ---- summary ------------------------------------------------------------------------
  function topSite() {
    const p = D.profiles.find(p => p.name === 'sync' && p.stacks.length) ||
      D.profiles.find(p => p.stacks.length);
    if (!p) return null;
    const s = p.stacks.slice().sort((a, b) => b.v - a.v)[0];
    return { profile: p.name, name: S[s.f[s.f.length - 1]], v: s.v, c: s.c };
  }
  function summary() {
    const hdr = el('header');
    const t = D.traces;
    hdr.append(el('h1', {}, 'ctrace: ' + t.map(x => x.exe + ' (pid ' + x.pid + ')').join(', ')));
    const sum = el('div', { id: 'summary' });
    for (const x of t) {
      sum.append(el('div', {}, x.path + ': duration ', el('b', {}, dur(x.duration_ns)),
        ', ' + x.threads + ' threads, ' + x.events + ' events, ' + x.lost + ' lost' +
        (x.truncated ? ', truncated' : '') +
        (x.filtered ? ', filtered to ' + dur(x.from_ns) + ' + ' + dur(x.window_ns) : '')));
    }
    const top = topSite();
    if (top) {
      sum.append(el('div', { id: 'top-site' }, 'top wait site (' + top.profile + '): ',
        el('b', {}, top.name), ' \u2014 ' + dur(top.v) + ' in ' + top.c + ' waits'));
    }
    const totals = D.profiles.map(p => p.name + ' ' + dur(p.total_ns) + ' (' + p.count + ')');
    sum.append(el('div', {}, 'profiles: ' + totals.join(', ')));
    hdr.append(sum);
    app.append(hdr);
    for (const x of t) {
      if (x.warning) app.append(el('div', { class: 'banner', id: 'warning' }, 'warning: ' + x.warning));
    }
  }

  // ---- flame graph ----------------------------------------------------------------------
  function buildTree(p) {
    const root = { name: 'all', v: 0, c: 0, kids: new Map(), parent: null };
    for (const s of p.stacks) {
      let n = root;
      n.v += s.v; n.c += s.c;
      for (const f of s.f) {
        const name = S[f];
        let k = n.kids.get(name);
        if (!k) { k = { name, v: 0, c: 0, kids: new Map(), parent: n }; n.kids.set(name, k); }
        k.v += s.v; k.c += s.c;
        n = k;
      }
    }
    return root;
  }
  function flame() {
    const sec = el('section', { id: 'flame' });
    sec.append(el('h2', {}, 'Flame graphs (wait time by stack, root at the top)'));
    const sel = el('select', { id: 'profile-select' });
    for (const p of D.profiles) sel.append(el('option', { value: p.name }, p.name + ' \u2014 ' + dur(p.total_ns)));
    const search = el('input', { type: 'search', id: 'flame-search', placeholder: 'search functions' });
    const reset = el('button', { id: 'flame-reset' }, 'reset zoom');
    const detail = el('div', { id: 'flame-detail' });
    sec.append(el('div', { class: 'controls' }, 'profile ', sel, search, reset));
    const svg = svgEl('svg', { id: 'flame-svg' });
    sec.append(svg, detail);
    if (D.profiles.some(p => p.dropped_stacks))
      sec.append(el('div', { class: 'note' }, 'Only the ' + D.limits.stacks +
        ' stacks of most wait time per profile are drawn; the rest are summed in "(other stacks)".'));
    app.append(sec);
    let tree = null, zoom = null;
    const ROW = 17;
    function draw() {
      svg.textContent = '';
      if (!tree || !tree.v) {
        svg.setAttribute('height', 24);
        const t = svgEl('text', { x: 4, y: 16 });
        t.textContent = 'no waits in this profile';
        svg.append(t);
        return;
      }
      const width = svg.clientWidth || 1000;
      const base = zoom || tree;
      // the zoomed node's ancestors are drawn full width above it
      const chain = [];
      for (let n = base.parent; n; n = n.parent) chain.unshift(n);
      let depth = 0;
      const q = (search.value || '').toLowerCase();
      const frames = [];
      for (const n of chain) frames.push([n, 0, width, depth++]);
      (function walk(n, x, w, d) {
        if (w < 0.5) return;
        frames.push([n, x, w, d]);
        let cx = x;
        const kids = [...n.kids.values()].sort((a, b) => a.name < b.name ? -1 : 1);
        for (const k of kids) {
          const kw = w * k.v / n.v;
          walk(k, cx, kw, d + 1);
          cx += kw;
        }
      })(base, 0, width, depth);
      let maxd = 0;
      for (const [n, x, w, d] of frames) {
        maxd = Math.max(maxd, d);
        const g = svgEl('g', { class: 'frame' + (q && n.name.toLowerCase().includes(q) ? ' match' : '') +
          (d < depth ? ' dim' : ''), 'data-name': n.name, 'data-width': w.toFixed(1) });
        const r = svgEl('rect', { x: x.toFixed(2), y: d * ROW, width: Math.max(w - 0.5, 0.5).toFixed(2),
          height: ROW - 1, fill: n === tree ? '#c8ccd4' : frameColour(n.name) });
        g.append(r);
        if (w > 40) {
          const t = svgEl('text', { x: (x + 3).toFixed(1), y: d * ROW + 12 });
          const chars = Math.floor((w - 6) / 6.5);
          t.textContent = n.name.length > chars ? n.name.slice(0, Math.max(chars - 1, 1)) + '\u2026' : n.name;
          g.append(t);
        }
        const title = svgEl('title', {});
        title.textContent = n.name + '\n' + dur(n.v) + ', ' + n.c + ' waits, ' +
          (100 * n.v / tree.v).toFixed(1) + '%';
        g.append(title);
        g.addEventListener('click', () => { zoom = n === tree ? null : n; stats.flameZoom = zoom && zoom.name; draw(); });
        g.addEventListener('mouseenter', () => {
          detail.textContent = n.name + ' \u2014 ' + dur(n.v) + ' in ' + n.c + ' waits (' +
            (100 * n.v / tree.v).toFixed(1) + '% of the profile)';
        });
        svg.append(g);
      }
      svg.setAttribute('height', (maxd + 1) * ROW + 2);
      svg.setAttribute('data-zoom', zoom ? zoom.name : '');
    }
    function choose() {
      const p = D.profiles.find(p => p.name === sel.value);
      tree = p ? buildTree(p) : null;
      zoom = null;
      stats.flameZoom = null;
      draw();
    }
    sel.addEventListener('change', choose);
    search.addEventListener('input', draw);
    reset.addEventListener('click', () => { zoom = null; stats.flameZoom = null; draw(); });
    window.addEventListener('resize', draw);
    const syncIx = D.profiles.findIndex(p => p.name === 'sync');
    if (syncIx >= 0) sel.selectedIndex = syncIx;
    choose();
  }

  // ---- time range (the timeline's selection filters the tables) -------------------------
  const range = { lo: null, hi: null, listeners: [] };
  function setRange(lo, hi) {
    range.lo = lo; range.hi = hi;
    stats.range = lo === null ? null : [lo, hi];
    for (const f of range.listeners) f();
  }
  const T = D.timeline;
  // per wait: [row, kind, profile, begin, dur, site, obj, wakerRow, wakerTs, unfinished]
  function inRange(w) {
    if (range.lo === null) return w[4];
    const b = Math.max(w[3], range.lo), e = Math.min(w[3] + w[4], range.hi);
    return e > b ? e - b : (w[4] === 0 && w[3] >= range.lo && w[3] <= range.hi ? 0 : -1);
  }

  // ---- timeline -------------------------------------------------------------------------
  function timeline() {
    const sec = el('section', { id: 'timeline' });
    sec.append(el('h2', {}, 'Timeline (per thread; drag to pan, wheel to zoom, drag on the time axis to select a range)'));
    const info = el('span', { id: 'range-info' });
    const clear = el('button', { id: 'range-clear' }, 'clear selection');
    const fit = el('button', { id: 'timeline-fit' }, 'zoom to selection');
    const all = el('button', { id: 'timeline-all' }, 'whole trace');
    sec.append(el('div', { class: 'controls' }, all, fit, clear, info));
    const kinds = [...new Set(T.waits.map(w => S[w[1]]))];
    const legend = el('div', { class: 'legend' });
    for (const k of kinds.concat(['runnable'])) {
      legend.append(el('span', {}, el('span', { class: 'sw', style: 'background:' + kindColour(k) }), k));
    }
    legend.append(el('span', {}, '\u2192 release to wake-up'));
    sec.append(legend);
    if (T.bins) {
      sec.append(el('div', { class: 'note', id: 'decimated' }, 'Large trace: ' + T.waits_kept + ' of ' +
        T.waits_total + ' waits are drawn one by one (those of at least ' + dur(T.min_ns) +
        '); the shading behind them is every wait, as time waited per ' + dur(T.span_ns / T.bins.n) +
        ' bin. The time-range tables count the drawn waits only.'));
    }
    if (T.rows.length < T.threads_total) {
      sec.append(el('div', { class: 'note' }, 'The ' + T.rows.length + ' threads of most blocked time of ' +
        T.threads_total + ' are drawn.'));
    }
    const wrap = el('div', { id: 'timeline-wrap' });
    const canvas = el('canvas', { id: 'timeline-canvas' });
    const tip = el('div', { id: 'timeline-tip' });
    wrap.append(canvas, tip);
    sec.append(wrap);
    app.append(sec);

    const LANE = 18, AXIS = 22, LABEL = 150;
    const span = Math.max(T.span_ns, 1);
    let v0 = 0, v1 = span;                 // the visible window, ns from the start
    const byRow = T.rows.map(() => []);
    T.waits.forEach((w, i) => byRow[w[0]].push(i));
    function layout() {
      const dpr = window.devicePixelRatio || 1;
      const width = canvas.clientWidth || 1000;
      const height = AXIS + T.rows.length * LANE + 4;
      canvas.style.height = height + 'px';
      canvas.width = Math.round(width * dpr);
      canvas.height = Math.round(height * dpr);
      const ctx = canvas.getContext('2d');
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      return { ctx, width, height };
    }
    function X(t, width) { return LABEL + (t - v0) / (v1 - v0) * (width - LABEL); }
    function draw() {
      const { ctx, width, height } = layout();
      ctx.clearRect(0, 0, width, height);
      ctx.font = '11px system-ui, sans-serif';
      // axis
      ctx.fillStyle = '#f6f7f9';
      ctx.fillRect(0, 0, width, AXIS);
      ctx.fillStyle = '#5d6677';
      const ticks = 8;
      for (let i = 0; i <= ticks; i++) {
        const t = v0 + (v1 - v0) * i / ticks, x = X(t, width);
        ctx.fillRect(x, AXIS - 5, 1, 5);
        if (i < ticks) ctx.fillText(dur(t), x + 2, 12);
      }
      if (range.lo !== null) {
        ctx.fillStyle = 'rgba(47,111,214,0.15)';
        const a = Math.max(X(range.lo, width), LABEL), b = Math.min(X(range.hi, width), width);
        if (b > a) ctx.fillRect(a, 0, b - a, height);
      }
      // lanes
      let slices = 0;
      T.rows.forEach((r, i) => {
        const y = AXIS + i * LANE;
        ctx.fillStyle = i % 2 ? '#fbfbfc' : '#ffffff';
        ctx.fillRect(LABEL, y, width - LABEL, LANE);
        ctx.fillStyle = '#1d2330';
        ctx.fillText((r[2] || '?') + ' ' + r[1], 4, y + 12, LABEL - 8);
        if (T.bins) {
          const bins = T.bins.ns[i], bw = span / T.bins.n;
          for (let b = 0; b < bins.length; b++) {
            if (!bins[b]) continue;
            const tot = bins[b].reduce((s, v) => s + v, 0);
            const x0 = X(b * bw, width), x1 = X((b + 1) * bw, width);
            if (x1 < LABEL || x0 > width) continue;
            ctx.fillStyle = 'rgba(217,83,79,' + Math.min(1, tot / bw).toFixed(3) * 0.5 + ')';
            ctx.fillRect(Math.max(x0, LABEL), y + 2, x1 - Math.max(x0, LABEL), LANE - 4);
          }
        }
        for (const ix of byRow[i]) {
          const w = T.waits[ix];
          const b = w[3], e = w[3] + w[4];
          if (e < v0 || b > v1) continue;
          const x0 = Math.max(X(b, width), LABEL), x1 = Math.min(X(e, width), width);
          ctx.fillStyle = kindColour(S[w[1]]);
          ctx.fillRect(x0, y + 2, Math.max(x1 - x0, 1), LANE - 4);
          slices++;
          if (w[7] >= 0 && w[8] >= b && w[8] <= e) {
            const xr = Math.max(X(w[8], width), LABEL);
            if (x1 - xr >= 1) {
              ctx.fillStyle = kindColour('runnable');
              ctx.fillRect(xr, y + LANE - 6, x1 - xr, 3);
            }
          }
        }
      });
      // arrows: release (waker lane) -> wake-up (waiter lane); arrows that fall on the
      // same pixel column between the same lanes are drawn once (and counted each)
      let arrows = 0;
      const drawn = new Set();
      ctx.strokeStyle = 'rgba(20,24,33,0.7)';
      ctx.fillStyle = 'rgba(20,24,33,0.7)';
      ctx.lineWidth = 1;
      for (const w of T.waits) {
        if (w[7] < 0) continue;
        const t = w[8];
        if (t < v0 || t > v1) continue;
        const x = Math.max(X(t, width), LABEL);
        const ya = AXIS + w[7] * LANE + LANE / 2, yb = AXIS + w[0] * LANE + LANE / 2;
        if (ya === yb) continue;
        const key = Math.round(x / 3) + ':' + w[7] + ':' + w[0];
        if (drawn.has(key)) { arrows++; continue; }
        drawn.add(key);
        ctx.beginPath();
        ctx.moveTo(x, ya);
        ctx.lineTo(x, yb);
        ctx.stroke();
        const d = yb > ya ? -1 : 1;
        ctx.beginPath();
        ctx.moveTo(x, yb);
        ctx.lineTo(x - 3, yb + 5 * d);
        ctx.lineTo(x + 3, yb + 5 * d);
        ctx.closePath();
        ctx.fill();
        arrows++;
      }
      stats.arrows = arrows;
      stats.slices = slices;
      canvas.dataset.arrows = arrows;
      canvas.dataset.slices = slices;
      info.textContent = range.lo === null ? 'no range selected: tables show the whole trace'
        : 'selected ' + dur(range.lo) + ' \u2013 ' + dur(range.hi) + ' (' + dur(range.hi - range.lo) + ')';
      info.className = range.lo === null ? '' : 'range';
    }
    // interaction
    let drag = null;
    function tAt(ev) {
      const r = canvas.getBoundingClientRect(), width = canvas.clientWidth;
      const x = Math.min(Math.max(ev.clientX - r.left, LABEL), width);
      return v0 + (x - LABEL) / (width - LABEL) * (v1 - v0);
    }
    canvas.addEventListener('mousedown', ev => {
      const r = canvas.getBoundingClientRect();
      drag = { y: ev.clientY - r.top, x: ev.clientX, t: tAt(ev), v0, v1, select: ev.clientY - r.top < AXIS || ev.shiftKey };
    });
    window.addEventListener('mousemove', ev => {
      if (!drag) return hover(ev);
      if (drag.select) {
        const t = tAt(ev);
        setRange(Math.min(drag.t, t), Math.max(drag.t, t));
      } else {
        const width = canvas.clientWidth - LABEL;
        const dt = (ev.clientX - drag.x) / width * (drag.v1 - drag.v0);
        v0 = drag.v0 - dt; v1 = drag.v1 - dt;
        draw();
      }
    });
    window.addEventListener('mouseup', () => { drag = null; });
    canvas.addEventListener('wheel', ev => {
      ev.preventDefault();
      const t = tAt(ev), f = ev.deltaY > 0 ? 1.25 : 0.8;
      v0 = t - (t - v0) * f; v1 = t + (v1 - t) * f;
      if (v1 - v0 < 100) v1 = v0 + 100;
      draw();
    }, { passive: false });
    canvas.addEventListener('dblclick', () => { v0 = 0; v1 = span; draw(); });
    all.addEventListener('click', () => { v0 = 0; v1 = span; draw(); });
    fit.addEventListener('click', () => { if (range.lo !== null && range.hi > range.lo) { v0 = range.lo; v1 = range.hi; draw(); } });
    clear.addEventListener('click', () => setRange(null, null));
    function hover(ev) {
      const r = canvas.getBoundingClientRect();
      const y = ev.clientY - r.top, x = ev.clientX - r.left;
      if (x < LABEL || y < AXIS || x > canvas.clientWidth || y > r.height) { tip.style.display = 'none'; return; }
      const row = Math.floor((y - AXIS) / LANE), t = tAt(ev);
      const slack = (v1 - v0) / canvas.clientWidth * 2;
      const ix = (byRow[row] || []).find(i => T.waits[i][3] - slack <= t && t <= T.waits[i][3] + T.waits[i][4] + slack);
      if (ix === undefined) { tip.style.display = 'none'; return; }
      const w = T.waits[ix];
      tip.textContent = S[w[1]] + ' (' + PROFILES[w[2]] + ') ' + dur(w[4]) + (w[9] ? ' unfinished' : '') +
        '\n' + S[w[5]] + (w[6] ? '\nobject 0x' + w[6].toString(16) : '') +
        (w[7] >= 0 ? '\nreleased by ' + T.rows[w[7]][1] + ' at ' + dur(w[8]) + ', runnable ' + dur(w[3] + w[4] - w[8]) : '');
      tip.style.display = 'block';
      tip.style.left = Math.min(x + 12, canvas.clientWidth - 260) + 'px';
      tip.style.top = (y + 12) + 'px';
    }
    range.listeners.push(draw);
    window.addEventListener('resize', draw);
    draw();
  }

  // ---- tables ---------------------------------------------------------------------------
  function sortable(id, cols, rowsFn) {
    const table = el('table', { id });
    const thead = el('thead'), tbody = el('tbody');
    table.append(thead, tbody);
    let key = cols.findIndex(c => c.sort === 'desc'), desc = true;
    const tr = el('tr');
    cols.forEach((c, i) => {
      const th = el('th', { class: c.left ? 'l' : '', 'data-key': c.key }, c.title);
      th.addEventListener('click', () => { if (key === i) desc = !desc; else { key = i; desc = !c.left; } render(); });
      tr.append(th);
    });
    thead.append(tr);
    function render() {
      const rows = rowsFn();
      if (key >= 0) {
        const k = cols[key].key;
        rows.sort((a, b) => {
          const x = a[k], y = b[k];
          const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
          return desc ? -c : c;
        });
      }
      [...thead.querySelectorAll('th')].forEach((th, i) => {
        th.className = (cols[i].left ? 'l ' : '') + (i === key ? (desc ? 'sorted-desc' : 'sorted-asc') : '');
      });
      tbody.textContent = '';
      for (const r of rows) {
        const row = el('tr');
        for (const c of cols) {
          const v = r[c.key];
          const td = el('td', { class: (c.left ? 'l ' : '') + (c.cls || '') },
            c.fmt ? c.fmt(v, r) : v === undefined || v === null ? '-' : v);
          if (c.key === 'site') td.title = v;
          row.append(td);
        }
        tbody.append(row);
      }
    }
    range.listeners.push(render);
    render();
    return table;
  }
  const yes = v => v ? el('span', { class: 'yes' }, 'yes') : 'no';
  function objects() {
    const sec = el('section', { id: 'objects' });
    sec.append(el('h2', {}, 'Objects (click a column to sort)'));
    const note = el('div', { class: 'note' });
    sec.append(note);
    const cols = [
      { key: 'addr', title: 'object', left: true }, { key: 'kind', title: 'kind', left: true },
      { key: 'waits', title: 'waits' }, { key: 'total_ns', title: 'wait total', fmt: dur, sort: 'desc' },
      { key: 'max_ns', title: 'max', fmt: dur }, { key: 'p50_ns', title: 'p50', fmt: dur },
      { key: 'p99_ns', title: 'p99', fmt: dur }, { key: 'max_waiters', title: 'max waiters' },
      { key: 'hold_p50_ns', title: 'hold p50', fmt: dur }, { key: 'convoy', title: 'convoy', fmt: yes },
      { key: 'site', title: 'first seen at', left: true, cls: 'site' }];
    sec.append(el('div', { class: 'tablewrap' }, sortable('objects-table', cols, () => {
      if (range.lo === null) {
        note.textContent = D.objects.length >= D.limits.rows ? 'The ' + D.limits.rows + ' objects of most wait time.' : '';
        return D.objects.map(o => Object.assign({}, o));
      }
      // the waits of the selected range, per object
      const m = new Map();
      for (const w of T.waits) {
        if (!w[6]) continue;
        const d = inRange(w);
        if (d < 0) continue;
        const key = '0x' + w[6].toString(16);
        let o = m.get(key);
        if (!o) {
          const full = D.objects.find(x => x.addr === key) || {};
          o = { addr: key, kind: S[w[1]], waits: 0, total_ns: 0, max_ns: 0, convoy: full.convoy, site: full.site || S[w[5]], list: [] };
          m.set(key, o);
        }
        o.waits++; o.total_ns += d; o.max_ns = Math.max(o.max_ns, d); o.list.push(d);
      }
      for (const o of m.values()) {
        o.list.sort((a, b) => a - b);
        o.p50_ns = o.list[Math.ceil(0.5 * o.list.length) - 1];
        o.p99_ns = o.list[Math.ceil(0.99 * o.list.length) - 1];
        delete o.list;
      }
      note.textContent = 'Waits in the selected range only (clipped to it).';
      return [...m.values()];
    })));
    // convoy plots
    const convoys = D.objects.filter(o => o.convoy_ev);
    if (convoys.length) {
      const box = el('div', { id: 'convoys' });
      box.append(el('h2', {}, 'Convoys: waiters per window (red: convoy windows)'));
      for (const o of convoys) box.append(convoyPlot(o));
      sec.append(box);
    }
    app.append(sec);
  }
  function convoyPlot(o) {
    const v = o.convoy_ev, n = v.series.length;
    const W = 520, H = 110, PAD = 24;
    const maxq = Math.max(1, ...v.series.map(s => s[1]));
    const svg = svgEl('svg', { class: 'convoy-plot', width: W, height: H, 'data-object': o.addr,
      'data-windows': v.windows });
    const bw = (W - PAD) / Math.max(n, 1);
    v.series.forEach((s, i) => {
      const h = (H - 20) * s[1] / maxq;
      const r = svgEl('rect', { class: 'window' + (s[3] ? ' convoy' : ''), x: (PAD + i * bw).toFixed(2),
        y: (H - 14 - h).toFixed(2), width: Math.max(bw - 1, 0.5).toFixed(2), height: h.toFixed(2) });
      const t = svgEl('title', {});
      t.textContent = 'window at ' + dur(s[0]) + ': ' + s[1].toFixed(2) + ' waiters on average, queue empty ' +
        (100 * s[2]).toFixed(0) + '%' + (s[3] ? ', convoy' : '');
      r.append(t);
      svg.append(r);
    });
    const axis = svgEl('text', { x: PAD, y: H - 2, 'font-size': 10, fill: '#5d6677' });
    axis.textContent = dur(v.series.length ? v.series[0][0] : 0) + ' \u2026 ' + dur(v.end_ns) + ', windows of ' + dur(v.window_ns);
    svg.append(axis);
    const ymax = svgEl('text', { x: 0, y: 10, 'font-size': 10, fill: '#5d6677' });
    ymax.textContent = maxq.toFixed(1);
    svg.append(ymax);
    return el('div', { class: 'convoy-box' }, el('div', { class: 'cap' }, o.kind + ' ' + o.addr + ' at ' + o.site +
      ': ' + v.windows + ' convoy windows, ' + v.mean_waiters.toFixed(1) + ' waiters on average, median hold ' +
      dur(v.median_hold_ns) + ' vs median wait ' + dur(v.median_wait_ns)), svg);
  }
  function threads() {
    const sec = el('section', { id: 'threads' });
    sec.append(el('h2', {}, 'Threads'));
    const note = el('div', { class: 'note' });
    sec.append(note);
    const cols = [
      { key: 'tid', title: 'tid', left: true }, { key: 'name', title: 'name', left: true },
      { key: 'start', title: 'start routine', left: true, cls: 'site' },
      { key: 'lifetime_ns', title: 'lifetime', fmt: dur },
      { key: 'sync', title: 'sync', fmt: dur, sort: 'desc' }, { key: 'net', title: 'net', fmt: dur },
      { key: 'syscall', title: 'syscall', fmt: dur }, { key: 'sleep', title: 'sleep', fmt: dur },
      { key: 'cpu_ns', title: 'cpu', fmt: dur }, { key: 'runq_ns', title: 'run queue', fmt: dur },
      { key: 'waits', title: 'waits' }];
    sec.append(el('div', { class: 'tablewrap' }, sortable('threads-table', cols, () => {
      const rows = D.threads.map(t => Object.assign({}, t, { sync: t.blocked[1], net: t.blocked[2], syscall: t.blocked[3], sleep: t.blocked[4] }));
      if (range.lo === null) { note.textContent = ''; return rows; }
      note.textContent = 'Blocked time and waits in the selected range (drawn waits); lifetime, cpu and run queue are of the whole trace.';
      const byTid = new Map(rows.map(r => [r.pid + '/' + r.tid, Object.assign(r, { sync: 0, net: 0, syscall: 0, sleep: 0, waits: 0 })]));
      for (const w of T.waits) {
        const d = inRange(w);
        if (d < 0) continue;
        const row = T.rows[w[0]], r = byTid.get(row[0] + '/' + row[1]);
        if (!r) continue;
        r[PROFILES[w[2]]] += d;
        r.waits++;
      }
      return rows;
    })));
    app.append(sec);
  }
  function chains() {
    const sec = el('section', { id: 'chains' });
    sec.append(el('h2', {}, 'Deadlocks and wait chains at the end of the trace'));
    const link = l => 'tid ' + l.tid + ' waits on ' + l.obj + ' held by ' + (l.held_by || '?') +
      (l.held_at ? ' (taken at ' + l.held_at + ')' : '');
    if (!D.deadlocks.length) sec.append(el('div', { class: 'note' }, 'No deadlock.'));
    D.deadlocks.forEach((d, i) => {
      sec.append(el('div', { class: 'yes' }, 'deadlock ' + (i + 1) + ': a cycle of ' + d.length + ' threads'));
      const ul = el('ul', { class: 'chains' });
      for (const l of d) ul.append(el('li', {}, link(l)));
      sec.append(ul);
    });
    if (!D.chains.length) sec.append(el('div', { class: 'note' }, 'No thread waits on a lock at the end.'));
    else {
      const ul = el('ul', { class: 'chains', id: 'chain-list' });
      for (const l of D.chains) ul.append(el('li', {}, link(l)));
      sec.append(ul);
    }
    app.append(sec);
  }

  try {
    summary();
    flame();
    timeline();
    objects();
    threads();
    chains();
  } catch (e) {
    stats.errors.push(String(e));
    app.append(el('div', { class: 'banner' }, 'This page failed to draw: ' + e));
    throw e;
  }
})();
