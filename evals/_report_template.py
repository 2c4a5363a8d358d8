"""The Jinja2 template of ``report.html``: one self-contained page, no scripts, no fetches.

Kept as a module constant rather than a package-data file so that installing the package
needs no extra configuration. The Content-Security-Policy forbids every fetch and every
script: the page needs neither, and a transcript that smuggles markup past escaping still
cannot run or phone home.
"""

from __future__ import annotations

__all__ = ["REPORT_TEMPLATE"]

REPORT_TEMPLATE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; \
style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">
<title>Eval report {{ run_id }}</title>
<style>
:root{--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--muted:#59636e;--line:#d1d9e0;--bg:#f6f8fa}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:#1f2328;background:#fff;max-width:1200px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 12px}h2{font-size:17px;margin:28px 0 10px;
border-bottom:1px solid var(--line);padding-bottom:4px}h4{margin:12px 0 4px;font-size:13px}
code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:8px;margin:0;
overflow:auto;max-height:420px;white-space:pre-wrap;word-break:break-word}
table{border-collapse:collapse}
.meta{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
.kv th{text-align:left;color:var(--muted);font-weight:600;padding:2px 16px 2px 0;
vertical-align:top}
.kv td{padding:2px 0;word-break:break-all}
.kv caption{text-align:left;font-size:12px;font-weight:600;color:var(--muted);
text-transform:uppercase;padding-bottom:2px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px;margin:0}
.card{border:1px solid var(--line);border-radius:8px;padding:8px 12px;background:var(--bg)}
.card dt{color:var(--muted);font-size:12px}.card dd{margin:0;font-size:18px;font-weight:600}
.card dd.note{font-size:12px;font-weight:400;color:var(--muted)}
.card.bad{border-color:var(--bad)}.card.bad dd{color:var(--bad)}
.plots{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:16px}
figure{margin:0;border:1px solid var(--line);border-radius:8px;padding:8px}
figure svg{display:block;width:100%;height:auto}
figcaption{color:var(--muted);font-size:12px;text-align:center}
.grid{width:100%}.grid th,.grid td{border-bottom:1px solid var(--line);padding:3px 8px;
text-align:left;vertical-align:top}
.grid th{background:var(--bg);position:sticky;top:0}
.grid td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.fail td:first-child{border-left:3px solid var(--bad)}
tr.pass td:first-child{border-left:3px solid var(--ok)}
.tag{display:inline-block;background:#ddf4ff;color:#0550ae;border-radius:10px;padding:0 7px;
margin:1px 2px;font-size:12px}
details.failure{border:1px solid var(--line);border-left:3px solid var(--bad);border-radius:6px;
margin:6px 0;padding:4px 10px}
details.failure summary{cursor:pointer}details.failure[open] summary{margin-bottom:6px}
.bad-text{color:var(--bad)}.muted{color:var(--muted)}
ul.compact{margin:0;padding-left:20px}
ol.transcript{list-style:none;margin:0;padding:0}
ol.transcript li{margin:3px 0;padding:4px 10px;border-radius:6px;white-space:pre-wrap;
word-break:break-word}
ol.transcript li.customer{background:#f1f8ff;margin-right:15%}
ol.transcript li.agent{background:#f6f8fa;margin-left:15%}
ol.transcript li.other{background:#fff8c5}
.role{display:block;font-size:11px;font-weight:600;color:var(--muted);text-transform:uppercase}
</style>
</head>
<body>
<header>
<h1>Eval report</h1>
<div class="meta">
<table class="kv" id="run">
<tr><th>Run</th><td><code>{{ run_id }}</code></td></tr>
<tr><th>Suite</th><td>{% if suite %}{{ suite }}{% else %}&ndash;{% endif %}</td></tr>
<tr><th>Created</th><td>{{ created_at }}</td></tr>
<tr><th>Scenarios</th><td>{{ scenarios }} &times; {{ k }} trial{{ "s" if k != 1 else "" }}</td></tr>
</table>
<table class="kv" id="fingerprint">
<caption>Fingerprint</caption>
{% for key, value in fingerprint %}
<tr><th>{{ key }}</th><td><code>{{ value }}</code></td></tr>
{% else %}
<tr><th>Fingerprint</th><td class="muted">none recorded</td></tr>
{% endfor %}
</table>
</div>
</header>

<section id="headline">
<h2>Headline</h2>
<dl class="cards">
{% for card in cards %}
<div class="card{{ ' bad' if card.bad else '' }}"><dt>{{ card.label }}</dt><dd>{{ card.value }}</dd>
{% if card.note %}<dd class="note">{{ card.note }}</dd>{% endif %}</div>
{% endfor %}
</dl>
</section>

<section id="plots">
<h2>Plots</h2>
<div class="plots">
{% for plot in plots %}
<figure id="{{ plot.id }}">{{ plot.svg }}<figcaption>{{ plot.caption }}</figcaption></figure>
{% endfor %}
</div>
</section>

<section id="scenario-list">
<h2>Scenarios ({{ rows|length }}, {{ failed_scenarios }} failed)</h2>
<table class="grid" id="scenarios">
<thead><tr><th>Scenario</th><th>Tags</th><th>Trials</th><th>Passed</th>
<th>Outcome / expected</th></tr></thead>
<tbody>
{% for row in rows %}
<tr class="{{ 'fail' if row.anchor else 'pass' }}" data-scenario="{{ row.scenario_id }}">
<td>{% if row.anchor %}<a href="#{{ row.anchor }}"><code>{{ row.scenario_id }}</code></a>\
{% else %}<code>{{ row.scenario_id }}</code>{% endif %}</td>
<td>{% for tag in row.tags %}<span class="tag">{{ tag }}</span>{% endfor %}</td>
<td class="num">{{ row.trials }}</td>
<td class="num{{ ' bad-text' if row.anchor else '' }}">{{ row.passed }}</td>
<td>{{ row.outcomes }} <span class="muted">/ {{ row.expected }}</span></td>
</tr>
{% endfor %}
</tbody>
</table>
</section>

<section id="failures">
<h2>Failed trials ({{ failures|length }})</h2>
{% for f in failures %}
<details class="failure" id="{{ f.anchor }}" data-scenario="{{ f.scenario_id }}" \
data-trial="{{ f.trial }}">
<summary><code>{{ f.scenario_id }}</code> · trial {{ f.trial }} · {{ f.outcome }}
<span class="muted">(expected {{ f.expected }})</span> ·
failed: <span class="bad-text">{{ f.failed_checks|join(", ") or "-" }}</span></summary>
{% if f.error %}<h4>Error</h4><pre class="error">{{ f.error }}</pre>{% endif %}
{% if f.violations %}<h4>Violations</h4>
<ul class="compact">{% for v in f.violations %}<li>{{ v }}</li>{% endfor %}</ul>{% endif %}
{% if f.forbidden_calls %}<h4>Forbidden calls</h4>
<ul class="compact">{% for c in f.forbidden_calls %}<li><code>{{ c }}</code></li>\
{% endfor %}</ul>{% endif %}
{% if f.missing_facts %}<h4>Missing facts</h4>
<ul class="compact">{% for m in f.missing_facts %}<li>{{ m }}</li>{% endfor %}</ul>{% endif %}
{% if f.state_diff %}<h4>State diff</h4><pre class="state-diff">{{ f.state_diff }}</pre>\
{% endif %}
{% if f.actions %}<h4>Tool calls</h4><pre class="actions">{{ f.actions }}</pre>{% endif %}
<h4>Transcript</h4>
{% if f.transcript %}<ol class="transcript">
{% for turn in f.transcript %}<li class="{{ turn.css }}"><span class="role">{{ turn.role }}\
</span>{{ turn.text }}</li>
{% endfor %}</ol>{% else %}<p class="muted">empty</p>{% endif %}
</details>
{% else %}
<p class="muted">No failed trials.</p>
{% endfor %}
</section>
</body>
</html>
"""
