// `audit verify`: walk the hash chain and say, by line number, what was edited,
// deleted, moved or cut off. Each line names its own number (seq) and the
// sha256 of the line that preceded it, so a link is checked against the line
// holding seq-1 wherever it now is: an edit breaks exactly one link, a
// deletion leaves a gap, a move shows as a step back. A cut tail leaves no
// trace in the file itself: the chain heads saved in backup manifests catch it.
import { legacyDigest } from './append.js';
import { GENESIS, LogLine, ParsedLog } from './record.js';

export type FindingKind = 'edited' | 'deleted' | 'reordered' | 'truncated' | 'inserted' | 'missing-newline';

export interface Finding {
  kind: FindingKind;
  /** The line of the log it concerns (for deletions: the line after the gap). */
  line: number;
  message: string;
}

/** A chain head recorded elsewhere (a backup manifest): the log had `lines` lines and its last one hashed to lastSha256. */
export interface ChainHead {
  lines: number;
  lastSha256: string;
  /** Where the head came from, for the message. */
  source: string;
}

export interface VerifyResult {
  ok: boolean;
  lines: number;
  chained: number;
  legacy: number;
  findings: Finding[];
  /** Not tampering (e.g. the newline a crash cost): reported, exit 0. */
  notes: Finding[];
}

const ranges = (numbers: number[]) => {
  const out: string[] = [];
  for (let index = 0; index < numbers.length; ) {
    let end = index;
    while (end + 1 < numbers.length && numbers[end + 1] === numbers[end]! + 1) end++;
    out.push(end === index ? `${numbers[index]}` : `${numbers[index]}-${numbers[end]}`);
    index = end + 1;
  }
  return out.join(', ');
};

export function verifyLog(log: ParsedLog, heads: ChainHead[] = []): VerifyResult {
  const { lines } = log;
  const findings: Finding[] = [];
  const notes: Finding[] = [];
  const add = (kind: FindingKind, line: number, message: string) => {
    if (!findings.some((finding) => finding.kind === kind && finding.line === line)) findings.push({ kind, line, message });
  };
  const firstChained = lines.findIndex((line) => line.kind === 'chained');
  const legacyCount = firstChained === -1 ? lines.filter((line) => line.kind === 'legacy').length : firstChained;
  // A line's number is taken from its link when the link ties it to the line above: an edited "seq" is then an
  // edit of that line, not a deletion or a move somewhere else.
  const seqOf = new Map<LogLine, number>();
  lines.forEach((line, index) => {
    if (!line.record) return;
    const above = lines[index - 1];
    const linked = above ? line.record.prev === above.sha256 : line.record.prev === GENESIS;
    const expected = !above ? 1 : above.record ? seqOf.get(above)! + 1 : above.kind === 'legacy' && index === legacyCount ? legacyCount + 1 : undefined;
    if (linked && expected !== undefined && expected !== line.record.seq) {
      add('edited', line.number, `line ${line.number}: its record number was changed (it says #${line.record.seq}, its link says #${expected})`);
      seqOf.set(line, expected);
    } else seqOf.set(line, line.record.seq);
  });
  const bySeq = new Map<number, LogLine>();
  for (const line of lines) {
    if (!line.record) continue;
    const seq = seqOf.get(line)!;
    if (bySeq.has(seq)) add('inserted', line.number, `line ${line.number} repeats record #${seq} (already at line ${bySeq.get(seq)!.number}): a copied or inserted line`);
    else bySeq.set(seq, line);
  }
  const broken: { before: LogLine; after: LogLine }[] = [];
  let lastChained: LogLine | undefined;
  const last = lines[lines.length - 1];

  lines.forEach((line, index) => {
    if (line.kind === 'damaged') {
      if (line === last && log.missingFinalNewline) add('truncated', line.number, `line ${line.number} is incomplete: the log was cut in the middle of a line (or a write was interrupted)`);
      else add('edited', line.number, `line ${line.number} is not a valid audit record: edited or damaged`);
      return;
    }
    if (line.kind === 'legacy') {
      if (firstChained !== -1 && index > firstChained) add('inserted', line.number, `line ${line.number} has no chain link but comes after the chain started (line ${firstChained + 1}): inserted or edited`);
      return;
    }
    const record = { ...line.record!, seq: seqOf.get(line)! };
    // Where the line sits vs. its number: a step back is a move (a gap is a deletion, below).
    const previous = lastChained;
    lastChained = line;
    const previousSeq = previous ? seqOf.get(previous)! : 0;
    if (previous && record.seq < previousSeq) add('reordered', line.number, `line ${line.number} (record #${record.seq}) comes after record #${previousSeq}: lines were reordered`);
    // The link: record #seq names the hash of record #seq-1.
    if (record.seq === legacyCount + 1 || record.seq === 1) {
      const expected = record.seq === 1 ? GENESIS : lines[legacyCount - 1]?.sha256;
      if (record.seq === 1 && record.prev !== GENESIS) add('edited', line.number, `line ${line.number}: record #1 does not start the chain (its link was edited)`);
      if (record.seq > 1 && record.prev !== expected) add('edited', legacyCount, `line ${legacyCount}: the last line before the chain started was edited (line ${line.number} recorded another sha256)`);
      if (record.seq > 1 && record.legacy && legacyDigest(lines.slice(0, legacyCount)) !== record.legacy.sha256) {
        add('edited', 1, `lines 1-${legacyCount} (older unchained records) changed since the chain started at line ${line.number} (it recorded ${record.legacy.lines} lines with another sha256)`);
      }
      return;
    }
    const before = bySeq.get(record.seq - 1);
    if (!before) return; // a gap: reported once below
    if (before.sha256 !== record.prev) broken.push({ before, after: line });
  });
  // A broken link says "the line above changed" — unless the line below's own next link is broken too: then the
  // simplest story is that the line below was edited (its link included).
  for (const { before, after } of broken) {
    if (broken.some((link) => link.before === after)) add('edited', after.number, `line ${after.number} (record #${seqOf.get(after)}) was edited: neither its link to line ${before.number} nor line ${broken.find((link) => link.before === after)!.after.number}'s link to it matches`);
    else if (!broken.some((link) => link.after === before)) add('edited', before.number, `line ${before.number} (record #${seqOf.get(before)}) was edited: line ${after.number} recorded another sha256 for it`);
  }

  // Gaps in the numbering: deleted records (the lines after them name their numbers).
  const seqs = [...bySeq.keys()].sort((a, b) => a - b);
  const start = firstChained === -1 ? undefined : legacyCount + 1;
  if (start !== undefined && seqs.length) {
    const first = Math.min(start, seqs[0]!);
    const missing: number[] = [];
    for (let seq = first; seq < seqs[seqs.length - 1]!; seq++) if (!bySeq.has(seq)) missing.push(seq);
    if (missing.length) {
      // Group by the line that now follows each gap.
      const groups = new Map<number, number[]>();
      let next = 0;
      for (const seq of missing) {
        while (seqs[next]! < seq) next++;
        const after = seqs[next]!;
        const at = bySeq.get(after)!.number;
        groups.set(at, [...(groups.get(at) ?? []), seq]);
      }
      for (const [at, group] of groups) {
        // Damaged lines right above (already reported as edited) stand where the missing records were.
        let damaged = 0;
        while (lines[at - 2 - damaged]?.kind === 'damaged') damaged++;
        if (damaged >= group.length) continue;
        add('deleted', at, `record${group.length > 1 ? 's' : ''} #${ranges(group)} deleted (${group.length} line${group.length > 1 ? 's' : ''} missing before line ${at})`);
      }
    }
  }

  // The tail: what backups saw must still be there, unchanged.
  for (const head of heads) {
    const highest = seqs.length ? seqs[seqs.length - 1]! : lines.length;
    const atHead = bySeq.get(head.lines) ?? (head.lines <= legacyCount ? lines[head.lines - 1] : undefined);
    if (Math.max(highest, lines.length) < head.lines) {
      add('truncated', lines.length + 1, `truncated: ${head.source} saw ${head.lines} lines; the log has ${lines.length} (records #${lines.length + 1}-${head.lines} are gone)`);
    } else if (atHead && atHead.sha256 !== head.lastSha256) {
      add('edited', atHead.number, `line ${atHead.number} (record #${head.lines}) differs from what ${head.source} recorded: edited, or the log was cut and written again`);
    }
  }
  if (log.missingFinalNewline && last && last.kind !== 'damaged') {
    notes.push({ kind: 'missing-newline', line: last.number, message: `line ${last.number} is complete but has no newline after it (a crash right after the write?); the next append adds it` });
  }
  findings.sort((a, b) => a.line - b.line);
  return { ok: findings.length === 0, lines: lines.length, chained: bySeq.size, legacy: legacyCount, findings, notes };
}
