// `check --timeline`: the report's expiry timeline in a terminal — 80 columns,
// one line per certificate (CAs heading their leaves), '#' from notBefore to
// notAfter on a shared axis, '|' for today. Colour only on a TTY without NO_COLOR;
// without colour the STATUS column still says everything.
import type { CheckEntry, CheckReport, Status } from '../ops/inventory/check.js';
import { axisFraction, TimeAxis, timeAxis, timelineGroups, yearTicks } from '../ops/report/report-model.js';
import { green, red, useColour, yellow } from './text.js';

export const TIMELINE_WIDTH = 80;
const NAME = 26;
const STATUS = 13;
const DAYS = 6;
/** What is left of 80 columns for the track: name, track, status, days, single spaces between. */
const TRACK = TIMELINE_WIDTH - NAME - STATUS - DAYS - 3;

const fit = (text: string, width: number) => (text.length > width ? `${text.slice(0, width - 1)}~` : text.padEnd(width));
/** A path keeps its end (the file name tells files apart), a name its start. */
function fitName(name: string, indent: string, width: number): string {
  const room = width - indent.length;
  if (name.length <= room) return `${indent}${name}`.padEnd(width);
  return name.includes('/') ? `${indent}~${name.slice(name.length - room + 1)}` : `${indent}${name.slice(0, room - 1)}~`;
}

function column(axis: TimeAxis, ms: number): number {
  return Math.min(TRACK - 1, Math.floor(axisFraction(axis, ms) * TRACK));
}

function paint(status: Status, text: string, stream: NodeJS.WriteStream): string {
  if (status === 'OK') return green(text, stream);
  if (status === 'WARN') return yellow(text, stream);
  return red(text, stream);
}

function track(entry: CheckEntry, axis: TimeAxis, stream: NodeJS.WriteStream): string {
  const today = column(axis, axis.nowMs);
  const cells: string[] = Array.from({ length: TRACK }, (_, index) => (index === today ? '|' : '.'));
  if (!entry.notBefore || !entry.notAfter) {
    const note = ` no certificate to draw `;
    const start = Math.max(0, Math.floor((TRACK - note.length) / 2));
    for (let index = 0; index < note.length && start + index < TRACK; index++) cells[start + index] = note[index]!;
    return cells.join('');
  }
  const from = column(axis, Date.parse(entry.notBefore));
  const to = Math.max(from, column(axis, Date.parse(entry.notAfter)));
  for (let index = from; index <= to; index++) if (index !== today) cells[index] = '#';
  // Colour the bar only: the dots and the today mark stay plain.
  const text = cells.join('');
  if (!useColour(stream)) return text;
  return text.slice(0, from) + paint(entry.status, text.slice(from, to + 1), stream) + text.slice(to + 1);
}

function days(entry: CheckEntry): string {
  if (entry.secondsLeft === null) return '';
  return `${Math.floor(entry.secondsLeft / 86_400)}d`;
}

function line(entry: CheckEntry, axis: TimeAxis, indent: boolean, stream: NodeJS.WriteStream): string {
  const name = fitName(entry.name, indent ? '  ' : '', NAME);
  const status = fit(entry.status, STATUS);
  return `${name} ${track(entry, axis, stream)} ${useColour(stream) ? paint(entry.status, status, stream) : status} ${days(entry).padStart(DAYS)}`.trimEnd();
}

/** The axis labels: a year wherever January 1st falls, and "today" under the today mark. */
function header(axis: TimeAxis): string[] {
  const years = Array.from({ length: TRACK }, () => ' ');
  for (const tick of yearTicks(axis, Math.floor(TRACK / 5))) {
    const at = column(axis, tick.ms);
    // A label that would be cut at the right edge is left out rather than shown as "2".
    if (at + tick.label.length <= TRACK && years.slice(at, at + 5).every((cell) => cell === ' ')) tick.label.split('').forEach((digit, index) => (years[at + index] = digit));
  }
  const marks = Array.from({ length: TRACK }, () => ' ');
  const today = column(axis, axis.nowMs);
  const word = `today ${new Date(axis.nowMs).toISOString().slice(0, 10)}`;
  const start = today + word.length + 2 <= TRACK ? today : Math.max(0, today - word.length - 1);
  marks[today] = 'v';
  word.split('').forEach((character, index) => {
    const at = start === today ? today + 2 + index : start + index;
    if (at < TRACK && at !== today) marks[at] = character;
  });
  const pad = ' '.repeat(NAME + 1);
  return [`${'CERTIFICATE'.padEnd(NAME)} ${years.join('')} ${'STATUS'.padEnd(STATUS)} ${'LEFT'.padStart(DAYS)}`.trimEnd(), `${pad}${marks.join('')}`.trimEnd()];
}

/** Every line at most TIMELINE_WIDTH columns wide (escape codes aside). */
export function renderTimeline(report: CheckReport, stream: NodeJS.WriteStream = process.stdout): string {
  const axis = timeAxis([report], new Date(report.now));
  const lines = header(axis);
  for (const group of timelineGroups(report)) {
    lines.push(group.ca ? line(group.ca, axis, false, stream) : fit('(no CA on host)', NAME).trimEnd());
    for (const entry of group.members) lines.push(line(entry, axis, true, stream));
  }
  return `${lines.join('\n')}\n`;
}
