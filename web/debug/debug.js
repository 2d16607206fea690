// The live actor view (GET /api/debug/actors) and runtime log levels (/api/debug/log-levels).
// With auth.mode=jwt open it as /debug/?token=<admin JWT>.
const $ = (id) => document.getElementById(id);
const token = new URLSearchParams(location.search).get('token') || '';
const headers = token ? { Authorization: `Bearer ${token}` } : {};
const kb = (b) => (b / 1024).toFixed(1);

async function call(url, method = 'GET') {
  const r = await fetch(url, { method, headers });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(`${r.status} ${body.error || ''} ${body.message || ''}`);
  return body;
}

function pairs(el, obj) {
  el.replaceChildren();
  for (const [k, v] of Object.entries(obj)) {
    const dt = document.createElement('dt'); dt.textContent = k;
    const dd = document.createElement('dd'); dd.textContent = typeof v === 'object' ? JSON.stringify(v) : v;
    el.append(dt, dd);
  }
}

async function refresh() {
  try {
    const a = await call('/api/debug/actors');
    pairs($('queues'), a.queues || {});
    $('count').textContent = a.sessions.length;
    $('connections').textContent = a.connections;
    const rows = a.sessions.sort((x, y) => y.age_s - x.age_s).map((s) => {
      const tr = document.createElement('tr');
      for (const v of [s.session_id || '(no init yet)', s.phase, s.actor, s.age_s.toFixed(0), s.unpaired_halves,
        kb(s.unpaired_bytes), s.spooling_items, kb(s.spooling_bytes), kb(s.credit_left_bytes), s.acked]) {
        const td = document.createElement('td'); td.textContent = v; tr.append(td);
      }
      return tr;
    });
    $('sessions').replaceChildren(...rows);
    pairs($('levels'), await call('/api/debug/log-levels'));
    $('updated').textContent = `Last update ${new Date().toLocaleTimeString()}.`;
    $('error').textContent = '';
  } catch (e) {
    $('error').textContent = e.message;
  }
}

$('set-level').onsubmit = async (ev) => {
  ev.preventDefault();
  try {
    pairs($('levels'), await call(`/api/debug/log-levels?component=${$('component').value}&level=${$('level').value}`, 'PUT'));
  } catch (e) { $('error').textContent = e.message; }
};
refresh();
setInterval(refresh, 2000);
