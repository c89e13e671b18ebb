"""The report's stylesheet, inline in the page: system fonts only, tabular figures, A4 print rules."""

CSS = """
:root {
  --ink: #1f2937;
  --muted: #4b5563;
  --faint: #6b7280;
  --line: #e5e7eb;
  --soft: #f8fafc;
  --navy: #0b2e4a;
  --blue: #0072B2;
  --orange: #E69F00;
  --vermillion: #D55E00;
  --sky: #56B4E9;
}
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body {
  margin: 0;
  background: #eef1f4;
  color: var(--ink);
  font: 15px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial,
    "Liberation Sans", "DejaVu Sans", sans-serif;
}
.page {
  max-width: 980px;
  margin: 24px auto;
  background: #fff;
  border-radius: 10px;
  overflow: hidden;
  box-shadow: 0 1px 3px rgba(15, 23, 42, .08), 0 8px 24px rgba(15, 23, 42, .06);
}
.masthead { background: var(--navy); color: #fff; padding: 32px 48px 28px; }
.eyebrow {
  text-transform: uppercase;
  letter-spacing: .12em;
  font-size: 12px;
  font-weight: 600;
  color: #9ec9e8;
}
h1 { font-size: 30px; line-height: 1.2; margin: 6px 0 6px; font-weight: 700; }
.masthead .meta { margin: 0; color: #d4e4f1; font-size: 14px; }
.content { padding: 28px 48px 40px; }
h2 { font-size: 20px; margin: 40px 0 6px; padding-bottom: 8px; border-bottom: 2px solid var(--line); }
h2 + .lead { margin-top: 8px; }
.lead { color: var(--muted); margin: 0 0 14px; max-width: 72ch; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.headline { display: grid; grid-template-columns: 1.35fr 1fr 1fr 1fr; gap: 12px; margin: 0 0 16px; }
.kpi { border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; background: #fff; }
.kpi-main { border: 2px solid var(--vermillion); background: #fff8f3; }
.kpi-label {
  font-size: 12px;
  text-transform: uppercase;
  letter-spacing: .06em;
  color: var(--muted);
  font-weight: 600;
}
.kpi-value {
  font-size: 25px;
  font-weight: 700;
  line-height: 1.25;
  margin-top: 4px;
  font-variant-numeric: tabular-nums;
  white-space: nowrap;
}
.kpi-main .kpi-value { font-size: 30px; color: #a63f00; }
.kpi-unit { font-size: 13px; color: var(--faint); }
.summary { margin: 0 0 8px; color: var(--ink); max-width: 80ch; }
.notice {
  border: 1px solid #f0b27a;
  background: #fff8f0;
  border-radius: 8px;
  padding: 12px 16px;
  margin: 0 0 16px;
}
figure { margin: 18px 0 26px; break-inside: avoid; page-break-inside: avoid; }
figcaption { font-weight: 700; font-size: 15px; margin: 0 0 2px; }
figcaption .sub {
  display: block;
  font-weight: 400;
  font-size: 13px;
  color: var(--faint);
  margin-bottom: 6px;
}
svg.chart { display: block; width: 100%; height: auto; }
svg.chart text { font-family: inherit; font-variant-numeric: tabular-nums; }
svg.chart .value { font-weight: 600; }
table { width: 100%; border-collapse: collapse; font-size: 14px; margin: 8px 0 12px; }
th, td { padding: 7px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th {
  font-size: 11.5px;
  text-transform: uppercase;
  letter-spacing: .05em;
  color: var(--muted);
  font-weight: 600;
  border-bottom: 2px solid #cbd5e1;
}
th.num { text-align: right; }
tbody tr:nth-child(even) td { background: var(--soft); }
tfoot td { font-weight: 700; border-top: 2px solid var(--ink); border-bottom: 0; }
td.date { white-space: nowrap; font-variant-numeric: tabular-nums; }
td.unused { color: #a63f00; font-weight: 700; }
table.renewals tr.has-advice td { border-bottom: 0; }
table.renewals tr.advice td { padding-top: 0; color: var(--muted); font-size: 13px; }
table.renewals tbody tr:nth-child(even) td { background: none; }
table.others { font-size: 13.5px; }
table.others td:nth-child(2) { white-space: nowrap; }
table.others td:first-child { width: 14em; }
table.others th:last-child { width: 7.5em; }
td .sub { display: block; color: var(--faint); font-size: 12.5px; }
ol.findings { list-style: none; padding: 0; margin: 12px 0; counter-reset: finding; }
.finding {
  border: 1px solid var(--line);
  border-left: 5px solid #9ca3af;
  border-radius: 8px;
  padding: 12px 16px 10px;
  margin: 0 0 12px;
  break-inside: avoid;
  page-break-inside: avoid;
}
.finding.sev-high { border-left-color: var(--vermillion); }
.finding.sev-medium { border-left-color: var(--orange); }
.finding.sev-low { border-left-color: var(--sky); }
.finding-head { display: flex; align-items: baseline; gap: 10px; flex-wrap: wrap; }
.rank { font-weight: 700; color: var(--faint); font-variant-numeric: tabular-nums; min-width: 1.6em; }
.app { font-weight: 700; font-size: 16px; }
.sku { color: var(--muted); }
.tag {
  font-size: 12px;
  border: 1px solid #cbd5e1;
  border-radius: 999px;
  padding: 0 8px;
  color: var(--muted);
}
.sev {
  font-size: 12px;
  font-weight: 700;
  text-transform: uppercase;
  letter-spacing: .05em;
  color: var(--muted);
}
.money {
  margin-left: auto;
  font-weight: 700;
  font-size: 17px;
  font-variant-numeric: tabular-nums;
  white-space: nowrap;
}
.money small { font-weight: 400; color: var(--faint); font-size: 12px; }
.what { margin: 6px 0 6px; }
dl.evidence {
  display: grid;
  grid-template-columns: 9.5em 1fr;
  gap: 2px 14px;
  margin: 6px 0;
  font-size: 13.5px;
}
dl.evidence dt { color: var(--faint); }
dl.evidence dd { margin: 0; overflow-wrap: anywhere; }
.action { margin: 8px 0 2px; font-size: 14px; }
.action strong { color: var(--navy); }
.also { margin: 4px 0 0; font-size: 13px; color: var(--muted); }
ul.plain { padding-left: 18px; margin: 8px 0; }
ul.plain li { margin: 4px 0; }
td ul.plain { margin: 0; }
td ul.plain li:first-child { margin-top: 0; }
.unknown-reason { color: var(--muted); }
.empty { color: var(--muted); font-style: italic; }
.status-ok { color: #006e4f; font-weight: 600; }
.status-stale { color: #a63f00; font-weight: 600; }
footer.colophon {
  border-top: 1px solid var(--line);
  margin-top: 36px;
  padding-top: 12px;
  font-size: 12.5px;
  color: var(--faint);
}
code { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .92em; }
@media (max-width: 760px) {
  .masthead, .content { padding-left: 20px; padding-right: 20px; }
  .headline { grid-template-columns: 1fr 1fr; }
}
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { background: #fff; font-size: 10pt; }
  .page { max-width: none; margin: 0; box-shadow: none; border-radius: 0; }
  .masthead { padding: 18px 20px; }
  .content { padding: 12px 0 0; }
  h2 { break-after: avoid; page-break-after: avoid; margin-top: 24px; }
  table { font-size: 9pt; }
  tr, .kpi { break-inside: avoid; page-break-inside: avoid; }
}
"""
