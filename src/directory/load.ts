import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { z } from 'zod';
import type { CalendarEntry } from '../engine/types.ts';
import { parseCalendar } from './calendar.ts';
import { type DirectoryData, STAFF_ROLES } from './model.ts';

/** A school-data folder that failed validation; `problems` name file and line. */
export class DirectoryImportError extends Error {
  constructor(readonly problems: string[]) {
    super(`school data has ${problems.length} problem(s):\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'DirectoryImportError';
  }
}

const blankToUndefined = (v: unknown) => (v === '' ? undefined : v);
const optional = z.preprocess(blankToUndefined, z.string().optional());
const e164 = z.preprocess(
  blankToUndefined,
  z
    .string()
    .regex(/^\+[1-9]\d{6,14}$/, 'phone must be E.164, e.g. +4791234567')
    .optional(),
);
const list = z.preprocess(
  (v) => (typeof v === 'string' ? v.split(/\s+/).filter(Boolean) : v),
  z.array(z.string()),
);
const lang = z.string().regex(/^[a-z]{2,3}$/, 'language must be a code like nb, so, ar');

const rows = {
  schools: z.object({
    id: z.string().min(1),
    name: z.string().min(1),
    office_phone: e164,
    office_email: optional,
    website: optional,
    standard: z.preprocess(blankToUndefined, z.string().default('oslo-2014')),
    reply_time_days: z.preprocess(blankToUndefined, z.coerce.number().int().positive().optional()),
    max_leave_days: z.preprocess(blankToUndefined, z.coerce.number().int().nonnegative().default(10)),
  }),
  classes: z.object({
    id: z.string().min(1),
    school_id: z.string().min(1),
    trinn: z.coerce.number().int().min(1).max(13),
    name: z.string().min(1),
  }),
  staff: z.object({
    id: z.string().min(1),
    school_id: z.string().min(1),
    name: z.string().min(1),
    roles: list.pipe(z.array(z.enum(STAFF_ROLES)).min(1)),
    class_ids: list,
    email: optional,
    phone: e164,
    preferred_lang: z.preprocess(blankToUndefined, lang.default('nb')),
    slack_id: optional,
    teams_id: optional,
    web_login: optional,
    /** Optional column: an FAU member's broadcast scope(s): `school`, `trinn:3`, `class:<id>`. */
    fau_scope: z.preprocess(
      (v) => (typeof v === 'string' ? v.split(/\s+/).filter(Boolean) : v),
      z
        .array(
          z.string().regex(/^(school|trinn:\d{1,2}|class:\S+)$/, 'fau_scope: school, trinn:N or class:<id>'),
        )
        .optional(),
    ),
  }),
  guardians: z.object({
    id: z.string().min(1),
    school_id: z.string().min(1),
    name: z.string().min(1),
    preferred_lang: lang,
    phone: e164,
    email: optional,
    slack_id: optional,
    teams_id: optional,
    web_login: optional,
  }),
  pupils: z.object({
    id: z.string().min(1),
    school_id: z.string().min(1),
    first_name: z.string().min(1),
    last_name: z.string().min(1),
    class_id: z.string().min(1),
    guardian_ids: list.pipe(z.array(z.string()).min(1)),
  }),
};

type Rows = { [K in keyof typeof rows]: Array<z.infer<(typeof rows)[K]>> };

/**
 * Reads and validates a school-data folder: schools.csv, classes.csv, staff.csv,
 * guardians.csv, pupils.csv and calendar/*.ics. Collects every problem (file:line)
 * before failing, so an operator fixes a file in one pass.
 */
export function loadDirectoryFolder(dir: string): DirectoryData {
  const problems: string[] = [];
  const parsed = {} as Rows;
  // Ids of rows that failed: references to them are not reported again.
  const rejected = new Set<string>();
  for (const name of Object.keys(rows) as Array<keyof typeof rows>) {
    const file = join(dir, `${name}.csv`);
    if (!existsSync(file)) {
      problems.push(`${name}.csv: missing`);
      (parsed as Record<string, unknown[]>)[name] = [];
      continue;
    }
    (parsed as Record<string, unknown[]>)[name] = readCsv(
      file,
      `${name}.csv`,
      rows[name] as z.ZodType<unknown>,
      problems,
      rejected,
    );
  }
  checkReferences(parsed, problems, rejected);

  const schoolCalendars: Record<string, CalendarEntry[]> = {};
  const classCalendars: Record<string, CalendarEntry[]> = {};
  const calendarDir = join(dir, 'calendar');
  if (existsSync(calendarDir)) {
    for (const file of readdirSync(calendarDir)
      .filter((f) => f.endsWith('.ics'))
      .sort()) {
      const m = file.match(/^(school|class)-(.+?)(?:-\d{4}-\d{2})?\.ics$/);
      const owner = m?.[2];
      const known =
        m?.[1] === 'school'
          ? parsed.schools.some((s) => s.id === owner)
          : parsed.classes.some((c) => c.id === owner);
      if (!m || !owner || !known) {
        problems.push(
          `calendar/${file}: name must be school-<school id>[-YYYY-YY].ics or class-<class id>.ics of a known school or class`,
        );
        continue;
      }
      try {
        const target = m[1] === 'school' ? schoolCalendars : classCalendars;
        target[owner] = [
          ...(target[owner] ?? []),
          ...parseCalendar(readFileSync(join(calendarDir, file), 'utf8'), `calendar/${file}`),
        ].sort((a, b) => a.start.localeCompare(b.start));
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
  }
  if (problems.length) throw new DirectoryImportError(problems);

  return {
    schools: parsed.schools.map((s) => ({
      id: s.id,
      name: s.name,
      officePhone: s.office_phone,
      officeEmail: s.office_email,
      website: s.website,
      standard: s.standard,
      replyTimeDays: s.reply_time_days,
      maxLeaveDays: s.max_leave_days,
    })),
    classes: parsed.classes.map((c) => ({ id: c.id, schoolId: c.school_id, trinn: c.trinn, name: c.name })),
    staff: parsed.staff.map((s) => ({
      id: s.id,
      schoolId: s.school_id,
      name: s.name,
      roles: s.roles,
      classIds: s.class_ids,
      preferredLang: s.preferred_lang,
      phone: s.phone,
      email: s.email,
      slackId: s.slack_id,
      teamsId: s.teams_id,
      webLogin: s.web_login,
      ...(s.fau_scope?.length ? { fauScope: s.fau_scope } : {}),
    })),
    guardians: parsed.guardians.map((g) => ({
      id: g.id,
      schoolId: g.school_id,
      name: g.name,
      preferredLang: g.preferred_lang,
      phone: g.phone,
      email: g.email,
      slackId: g.slack_id,
      teamsId: g.teams_id,
      webLogin: g.web_login,
    })),
    pupils: parsed.pupils.map((p) => ({
      id: p.id,
      schoolId: p.school_id,
      firstName: p.first_name,
      lastName: p.last_name,
      classId: p.class_id,
      guardianIds: p.guardian_ids,
    })),
    schoolCalendars,
    classCalendars,
  };
}

function readCsv<T>(
  file: string,
  label: string,
  schema: z.ZodType<T>,
  problems: string[],
  rejected: Set<string>,
): T[] {
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    // Rows as arrays with a relaxed column count, so every short or long row is
    // reported with its line instead of the parser stopping at the first one.
    records = parse(readFileSync(file, 'utf8'), {
      skip_empty_lines: true,
      trim: true,
      bom: true,
      info: true,
      relax_column_count: true,
    }) as unknown as typeof records;
  } catch (err) {
    const line = (err as { lines?: number }).lines;
    problems.push(`${label}${line ? `:${line}` : ''}: ${(err as Error).message}`);
    return [];
  }
  const [head, ...body] = records;
  const columns = head?.record ?? [];
  const out: T[] = [];
  const seen = new Set<string>();
  const idColumn = columns.indexOf('id');
  for (const { record: cells, info } of body) {
    const rowId = cells[idColumn];
    if (rowId) rejected.add(rowId); // until the row passes
    if (cells.length !== columns.length) {
      problems.push(`${label}:${info.lines}: expected ${columns.length} fields, found ${cells.length}`);
      continue;
    }
    const record = Object.fromEntries(columns.map((c, i) => [c, cells[i]]));
    const result = schema.safeParse(record);
    if (!result.success) {
      for (const issue of result.error.issues)
        problems.push(`${label}:${info.lines}: ${issue.path.join('.') || 'row'}: ${issue.message}`);
      continue;
    }
    const id = (result.data as { id: string }).id;
    rejected.delete(id);
    if (seen.has(id)) problems.push(`${label}:${info.lines}: id "${id}" appears twice`);
    seen.add(id);
    out.push(result.data);
  }
  return out;
}

function checkReferences(r: Rows, problems: string[], rejected: Set<string>): void {
  const schools = new Set(r.schools.map((s) => s.id));
  const classes = new Set(r.classes.map((c) => c.id));
  const guardians = new Set(r.guardians.map((g) => g.id));
  const check = (file: string, id: string, field: string, value: string, known: Set<string>) => {
    if (!known.has(value) && !rejected.has(value))
      problems.push(`${file}: ${id}: ${field} "${value}" is not defined`);
  };
  for (const c of r.classes) check('classes.csv', c.id, 'school_id', c.school_id, schools);
  for (const s of r.staff) {
    check('staff.csv', s.id, 'school_id', s.school_id, schools);
    for (const c of s.class_ids) check('staff.csv', s.id, 'class_ids', c, classes);
    for (const scope of s.fau_scope ?? [])
      if (scope.startsWith('class:')) check('staff.csv', s.id, 'fau_scope', scope.slice(6), classes);
  }
  for (const g of r.guardians) check('guardians.csv', g.id, 'school_id', g.school_id, schools);
  for (const p of r.pupils) {
    check('pupils.csv', p.id, 'school_id', p.school_id, schools);
    check('pupils.csv', p.id, 'class_id', p.class_id, classes);
    for (const g of p.guardian_ids) check('pupils.csv', p.id, 'guardian_ids', g, guardians);
  }
}
