/** Writes a study's output folder: report.html, summary.json and directions/<model>/ direction folders. */
import { makeOutputDir } from '../../engine/output-dir.ts';
import path from 'node:path';
import { writeDirection, writeJson } from '../direction/direction-io.ts';
import { writeFileAtomic, writeAll } from '../../engine/atomic.ts';
import type { StudyOutput } from '../study/run-study.ts';
import { renderReportHtml } from './html.ts';

export interface WrittenReport {
  html: string;
  summary: string;
  directions: string[];
}

export async function writeReport(outDir: string, out: StudyOutput): Promise<WrittenReport> {
  makeOutputDir(outDir);
  const summary = path.join(outDir, 'summary.json');
  writeJson(summary, out.summary);
  const dirs: string[] = [];
  for (const [name, d] of out.directions) {
    const dir = path.join(outDir, 'directions', name.replace(/[^A-Za-z0-9._-]/g, '_'));
    writeDirection(dir, { r: d.r, pos: d.pos, layer: d.layer, model: name === 'original' ? out.summary.model : `${out.summary.model}+${name}` }, { source: 'glassbox study' });
    dirs.push(dir);
  }
  const html = path.join(outDir, 'report.html');
  const bytes = Buffer.from(await renderReportHtml(out.summary), 'utf8');
  writeFileAtomic(html, (fd) => writeAll(fd, bytes));
  return { html, summary, directions: dirs };
}
