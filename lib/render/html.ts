// HTML escaping for the report: certificate subjects, SANs, node names and audit
// lines are attacker-controlled text, so every value goes through escapeHtml.
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Safe in element content and in double- or single-quoted attributes. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (character) => ENTITIES[character]!);
}

/** A CSS class from a status ("KEY-MISMATCH" -> "s-key-mismatch"); statuses are a closed set, but be strict anyway. */
export function statusClass(status: string): string {
  return `s-${status.toLowerCase().replace(/[^a-z-]/g, '')}`;
}

/** "2026-11-25" from an ISO time ('' when absent). */
export function isoDay(iso: string | null | undefined): string {
  return iso ? iso.slice(0, 10) : '';
}

export function daysLeft(secondsLeft: number | null): string {
  if (secondsLeft === null) return '';
  const days = Math.floor(secondsLeft / 86_400);
  return days < 0 ? `${-days} d ago` : `${days} d left`;
}
