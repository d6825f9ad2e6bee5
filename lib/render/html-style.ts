// The report's stylesheet, inlined into the page (no external file may be fetched).
export const REPORT_CSS = `
:root{--ok:#2e9d4f;--warn:#e0a100;--expired:#d0312d;--missing:#777;--unreadable:#8e44ad;--mismatch:#b03a7a;--broken:#7b1fa2;--nyv:#2f6fd0}
*{box-sizing:border-box}
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d1d1f;background:#fff}
header{padding:12px 20px;border-bottom:1px solid #ddd;background:#f6f7f9}
h1{font-size:20px;margin:0 0 4px}h2{font-size:17px;margin:18px 0 8px}h3{font-size:14px;margin:12px 0 6px}
main{padding:0 20px 30px}
.meta{color:#555;font-size:12px;margin:4px 0}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
.legend{font-size:12px;margin:6px 0 0}
.swatch{display:inline-block;width:12px;height:12px;margin:0 4px 0 10px;vertical-align:-2px;border-radius:2px}
.today-swatch{width:2px;background:#000}
.timeline{position:relative;border:1px solid #ddd;border-radius:4px;padding:22px 0 6px;background:#fff;overflow:hidden}
.axis{position:absolute;top:0;left:0;right:0;height:20px;border-bottom:1px solid #eee}
.tick{position:absolute;top:3px;font-size:11px;color:#666;transform:translateX(-50%);white-space:nowrap}
.tick::after{content:"";position:absolute;left:50%;top:17px;height:2000px;border-left:1px dotted #e3e3e3}
.group{border-top:1px solid #eee;padding:2px 0}
.row{display:flex;align-items:center;height:20px}
.row.ca .name{font-weight:600}
.row:not(.ca) .name{padding-left:14px}
.label{width:26rem;flex:none;display:flex;gap:6px;padding:0 8px;font-size:12px;white-space:nowrap;overflow:hidden}
.label .name{overflow:hidden;text-overflow:ellipsis;flex:1 1 auto;min-width:10rem}
.label .left{color:#666;font-size:11px;flex:none;width:8.5rem;text-align:right}
.track{position:relative;flex:1;height:12px}
.bar{position:absolute;top:0;height:12px;border-radius:3px;min-width:2px;z-index:1}
.bar.nodates{background-image:repeating-linear-gradient(45deg,rgba(255,255,255,.5) 0 4px,transparent 4px 8px);color:#fff;font-size:9px;line-height:12px;padding-left:6px;opacity:.8}
.today{position:absolute;top:0;bottom:0;border-left:2px solid #000;z-index:2}
.today span{position:absolute;bottom:0;left:3px;font-size:11px;font-weight:600;background:#fff;padding:0 2px}
.status{font-size:11px;font-weight:600;padding:0 4px;border-radius:3px;color:#fff;white-space:nowrap}
.s-ok{background:var(--ok)}.s-warn{background:var(--warn)}.s-expired{background:var(--expired)}.s-missing{background:var(--missing)}
.s-unreadable{background:var(--unreadable)}.s-key-mismatch{background:var(--mismatch)}.s-chain-broken{background:var(--broken)}.s-not-yet-valid{background:var(--nyv)}
.problems{margin:0;padding-left:18px}.problem{background:none;margin:2px 0}
li.problem{list-style:square}
.none{color:#555}
table{border-collapse:collapse;width:100%;font-size:12px}
th,td{border-bottom:1px solid #e5e5e5;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f6f7f9;position:sticky;top:0}
tr.node-row{background:none}
tr.unparsable td{background:#fff3f3}
td.stale{color:var(--expired);font-weight:600}
.result-failed,.result-rolled-back{color:var(--expired);font-weight:600}
details.node{border:1px solid #ddd;border-radius:4px;margin:4px 0;padding:2px 8px}
details.node>summary{cursor:pointer;padding:3px 0}
details.node[open]{padding-bottom:8px}
`;
