// The cost dashboard's script: polls the server's read-only data routes and redraws in place (no reload).
// Every figure comes from the /v1 API through /dashboard/api/v1/... (Basic credentials are resent by the
// browser), and each number's exact value sits in a data-value attribute beside its formatted text.

/** Seconds between refreshes; the dashboard promises ≤ 5. */
const POLL_MS = 3000;
const API = '/dashboard/api';
const COLORS = ['#2563eb', '#16a34a', '#d97706', '#9333ea', '#dc2626', '#0891b2', '#65a30d', '#db2777', '#475569'];

const $ = (id) => document.getElementById(id);

function usd(v) {
  if (v === null || v === undefined) return 'no limit';
  const n = Number(v);
  return `${n < 0 ? '-' : ''}$${Math.abs(n).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 6 })}`;
}

/** Sets an element's text and its raw value (what tests and scripts read). */
function show(id, value, text) {
  const el = $(id);
  el.dataset.value = value === null || value === undefined ? '' : String(value);
  el.textContent = text ?? String(value);
}

async function getJson(path) {
  const res = await fetch(`${API}${path}`, { credentials: 'same-origin', cache: 'no-store' });
  if (!res.ok) {
    const err = new Error(`${path}: HTTP ${res.status}`);
    err.status = res.status;
    throw err;
  }
  return res.json();
}

const charts = {};

/** Creates a chart once, then only swaps its data, so a refresh does not flicker or re-animate. */
function chart(id, type, labels, values, options = {}) {
  if (typeof Chart === 'undefined') return; // chart library failed to load: the numbers still show
  const colors = options.colors ?? labels.map((_, i) => COLORS[i % COLORS.length]);
  const existing = charts[id];
  if (existing) {
    existing.data.labels = labels;
    existing.data.datasets[0].data = values;
    existing.data.datasets[0].backgroundColor = colors;
    existing.update('none');
    return;
  }
  charts[id] = new Chart($(id), {
    type,
    data: {
      labels,
      datasets: [{ data: values, backgroundColor: colors, borderColor: type === 'line' ? COLORS[0] : undefined }],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      plugins: {
        legend: { display: type === 'doughnut' && !options.gauge, position: 'right' },
        tooltip: { enabled: !options.gauge },
      },
      ...(options.gauge ? { rotation: -90, circumference: 180, cutout: '70%' } : {}),
      ...(type === 'bar' || type === 'line' ? { scales: { y: { beginAtZero: true } } } : {}),
    },
  });
}

function rows(tbodyId, items, cells) {
  const body = $(tbodyId);
  body.replaceChildren(
    ...items.map((item) => {
      const tr = document.createElement('tr');
      for (const c of cells(item)) {
        const td = document.createElement('td');
        td.textContent = c.text;
        if (c.value !== undefined) td.dataset.value = String(c.value);
        if (c.className) td.className = c.className;
        if (c.field) td.dataset.field = c.field;
        tr.append(td);
      }
      if (item.key !== undefined) tr.dataset.key = item.key ?? '';
      if (item.id !== undefined) tr.dataset.id = item.id;
      return tr;
    }),
  );
}

/** Every UTC day from..to, so quiet days show as zero instead of vanishing from the time axis. */
function days(from, to) {
  const out = [];
  for (let d = new Date(`${from}T00:00:00Z`); d.toISOString().slice(0, 10) <= to; d.setUTCDate(d.getUTCDate() + 1)) {
    out.push(d.toISOString().slice(0, 10));
  }
  return out;
}

function renderReport(byDay, byType, byModel) {
  $('range').textContent = `${byDay.from} → ${byDay.to} (UTC)`;
  show('total-cost', byDay.total_cost, usd(byDay.total_cost));
  show('total-requests', byDay.total_requests);
  show('avg-cost', byDay.avg_cost_per_request, usd(byDay.avg_cost_per_request));
  show('cache-hits', byDay.cache_hits);
  show('saved-by-cache', byDay.saved_by_cache, usd(byDay.saved_by_cache));

  const perDay = new Map(byDay.groups.map((g) => [g.key, g.cost]));
  const labels = days(byDay.from, byDay.to);
  chart(
    'day-chart',
    'bar',
    labels,
    labels.map((d) => perDay.get(d) ?? 0),
    { colors: COLORS[0] },
  );

  const models = Object.entries(byDay.cost_by_model);
  chart(
    'model-chart',
    'doughnut',
    models.map(([m]) => m),
    models.map(([, c]) => c),
  );
  rows('by-model', byModel.groups, (g) => [
    { text: g.key },
    { text: String(g.requests), value: g.requests, field: 'requests' },
    { text: usd(g.cost), value: g.cost, field: 'cost' },
  ]);

  chart(
    'type-chart',
    'bar',
    byType.groups.map((g) => g.key ?? '(none)'),
    byType.groups.map((g) => g.cost),
  );
  rows('by-task-type', byType.groups, (g) => [
    { text: g.key ?? '(none)' },
    { text: String(g.requests), value: g.requests, field: 'requests' },
    { text: usd(g.cost), value: g.cost, field: 'cost' },
  ]);
}

function renderAnalysis(a) {
  $('baseline-model').textContent = a.baseline_model;
  show('savings', a.savings, usd(a.savings));
  show('savings-percent', a.savings_percent, `${a.savings_percent}%`);
  show('potential-cost', a.potential_cost, usd(a.potential_cost));
  show(
    'optimization-score',
    a.optimization_score ?? '',
    a.optimization_score === null ? '–' : String(a.optimization_score),
  );
}

/** Today's spend against the daily budget; `budget` is null when GET /v1/budget is not available (404). */
function renderGauge(budget, byDay) {
  const today = new Date().toISOString().slice(0, 10);
  if (budget) {
    show('today-spent', budget.spent, usd(budget.spent));
    show('budget-limit', budget.limit ?? '', usd(budget.limit));
    show('budget-reserved', budget.reserved, usd(budget.reserved));
    show('budget-remaining', budget.remaining ?? '', usd(budget.remaining));
    const over =
      budget.alert_threshold !== null && budget.alert_threshold !== undefined && budget.spent >= budget.alert_threshold;
    $('budget-note').textContent = over ? `over the alert threshold (${usd(budget.alert_threshold)})` : '';
    $('budget-percent').textContent = budget.limit
      ? `${((budget.spent / budget.limit) * 100).toFixed(2)}% used`
      : 'no daily limit';
    const free = budget.limit === null ? 0 : Math.max(0, budget.limit - budget.spent - budget.reserved);
    chart(
      'gauge-chart',
      'doughnut',
      ['spent', 'reserved', 'free'],
      [budget.spent, budget.reserved, budget.limit === null ? 1e-9 : free],
      {
        gauge: true,
        colors: [over ? '#d97706' : '#2563eb', '#93c5fd', '#e5e7eb'],
      },
    );
    return;
  }
  // Without the budget endpoint, today's spend still comes from the report; the limit is unknown.
  const spent = byDay.groups.find((g) => g.key === today)?.cost ?? 0;
  show('today-spent', spent, usd(spent));
  $('budget-percent').textContent = '';
  show('budget-limit', '', 'unknown');
  show('budget-reserved', '', '–');
  show('budget-remaining', '', '–');
  $('budget-note').textContent = 'budget endpoint unavailable (GET /v1/budget answered 404): showing spend only';
  chart('gauge-chart', 'doughnut', ['spent', 'free'], [spent, spent === 0 ? 1 : 0], {
    gauge: true,
    colors: ['#2563eb', '#e5e7eb'],
  });
}

function renderRecent(list) {
  rows('recent-tasks', list.tasks, (t) => [
    { text: new Date(t.created_at).toLocaleTimeString() },
    { text: t.id.slice(0, 8), field: 'id' },
    { text: t.task_type ?? '(none)', field: 'task_type' },
    { text: t.model ?? '–', field: 'model' },
    { text: t.status, className: `status-${t.status}`, field: 'status' },
    { text: usd(t.cost), value: t.cost, field: 'cost' },
  ]);
}

/** Each model's live limit state from GET /v1/models: slots, window counts against rpm/tpm, and any pause. */
function renderLimits(models) {
  const limited = models.data.filter((m) => m.orchex?.provider && m.orchex.limits);
  rows(
    'model-limits',
    limited.map((m) => ({ ...m.orchex.limits, key: m.id })),
    (l) => [
      { text: l.key, field: 'model', className: l.limited ? 'status-failed' : '' },
      { text: `${l.slots_in_use} / ${l.max_concurrency}`, value: l.slots_in_use, field: 'slots' },
      { text: `${l.requests_in_window} / ${l.rpm}`, value: l.requests_in_window, field: 'requests' },
      {
        text: l.tpm === null ? `${l.tokens_in_window} (no tpm)` : `${l.tokens_in_window} / ${l.tpm}`,
        value: l.tokens_in_window,
        field: 'tokens',
      },
      {
        text: l.paused_until ? new Date(l.paused_until).toLocaleTimeString() : '–',
        value: l.paused_until ?? '',
        field: 'paused',
      },
    ],
  );
}

async function getBudget() {
  try {
    return await getJson('/v1/budget');
  } catch (err) {
    if (err.status === 404) return null;
    throw err;
  }
}

let refreshes = 0;

async function refresh() {
  try {
    const [byDay, byType, byModel, analysis, budget, recent, models] = await Promise.all([
      getJson('/v1/costs/report?group_by=day'),
      getJson('/v1/costs/report?group_by=task_type'),
      getJson('/v1/costs/report?group_by=model'),
      getJson('/v1/costs/analysis'),
      getBudget(),
      getJson('/recent-tasks'),
      getJson('/v1/models'),
    ]);
    renderReport(byDay, byType, byModel);
    renderAnalysis(analysis);
    renderGauge(budget, byDay);
    renderRecent(recent);
    renderLimits(models);
    refreshes += 1;
    document.body.dataset.refreshes = String(refreshes);
    $('status').className = 'muted';
    $('status').textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (err) {
    $('status').className = 'error';
    $('status').textContent = `refresh failed: ${err.message}`;
  } finally {
    // Chained rather than setInterval, so a slow answer never stacks refreshes on top of each other.
    setTimeout(refresh, POLL_MS);
  }
}

refresh();
