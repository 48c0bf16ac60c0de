// Placement explanations as text, for `cube schedule --dry-run` (and any command that shows
// one): how many workers fit, why the others did not, and the best candidates' scores.
import type { PlacementExplanation } from '../core/types.js';

export function renderExplanation(p: PlacementExplanation, indent = '  '): string {
  const lines = [`${p.workersFeasible}/${p.workersEvaluated} workers fit (policy ${p.policy})`];
  const rejected = Object.entries(p.rejected).sort(
    (a, b) => b[1] - a[1] || a[0].localeCompare(b[0]),
  );
  if (rejected.length > 0) {
    lines.push('Rejected:');
    for (const [reason, count] of rejected)
      lines.push(`${indent}${String(count).padStart(5)}  ${reason}`);
  }
  if (p.topScores.length > 0) {
    lines.push('Top candidates:');
    for (const s of p.topScores) {
      const chosen = s.workerId === p.chosenWorkerId ? '  <- chosen' : '';
      lines.push(
        `${indent}${s.score.toFixed(2).padStart(6)}  ${s.workerName} (${s.workerId})${chosen}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
