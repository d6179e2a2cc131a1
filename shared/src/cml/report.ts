import type { Evaluation } from './evaluation.js';

/** A plain-text table of Recall@50, Recall@100 and NDCG@10 (when evaluated) per model. */
export function formatEvaluationTable(models: Record<string, Evaluation>): string {
  const columns: [string, number, 'recall' | 'ndcg'][] = [
    ['Recall@50', 50, 'recall'],
    ['Recall@100', 100, 'recall'],
    ['NDCG@10', 10, 'ndcg'],
  ];
  const header = ['model', ...columns.map(([name]) => name)];
  const rows = Object.entries(models).map(([name, evaluation]) => [
    name,
    ...columns.map(([, k, metric]) => evaluation.at[k]?.[metric]?.toFixed(4) ?? 'n/a'),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column].length)),
  );
  const line = (cells: string[]) =>
    cells.map((cell, column) => cell.padEnd(widths[column])).join('  ');
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join(
    '\n',
  );
}
