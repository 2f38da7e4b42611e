import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DirectoryImportError, loadDirectoryFolder } from '../../../src/directory/load.ts';
import { ROOT } from '../../helpers/world.ts';

const DEMO = join(ROOT, 'examples/demo-school');

describe('school data folder', () => {
  it('loads the demo school: register and calendars', () => {
    const d = loadDirectoryFolder(DEMO);
    expect(d.schools.map((s) => s.id)).toEqual(['bjerkedalen']);
    expect(d.pupils).toHaveLength(13);
    expect(
      d.schoolCalendars.bjerkedalen?.find((e) => e.title === 'Vinterferie' && e.start.startsWith('2025')),
    ).toMatchObject({
      kind: 'holiday',
      start: '2025-02-17',
      end: '2025-02-22',
    });
    expect(d.classCalendars['bjerkedalen-3a']?.[0]).toMatchObject({
      kind: 'foreldremote',
      start: '2024-09-05T18:00:00+02:00',
      location: 'Klasserommet',
    });
  });

  it('reports malformed rows with file and line, all at once', () => {
    const dir = mkdtempSync(join(tmpdir(), 'skolebro-data-'));
    cpSync(DEMO, dir, { recursive: true });
    const guardians = readFileSync(join(dir, 'guardians.csv'), 'utf8').split('\n');
    guardians[2] = 'g-bad,bjerkedalen,Bad Phone,so,12345,,,,bad';
    writeFileSync(join(dir, 'guardians.csv'), guardians.join('\n'));
    writeFileSync(
      join(dir, 'pupils.csv'),
      `${readFileSync(join(dir, 'pupils.csv'), 'utf8')}p-x,bjerkedalen,X,Y,no-such-class,g-amina\n`,
    );
    try {
      loadDirectoryFolder(dir);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(DirectoryImportError);
      const { problems } = err as DirectoryImportError;
      expect(problems).toContain('guardians.csv:3: phone: phone must be E.164, e.g. +4791234567');
      expect(problems).toContain('pupils.csv: p-x: class_id "no-such-class" is not defined');
    }
  });

  it('rejects an ICS file that is not a calendar, naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'skolebro-data-'));
    cpSync(DEMO, dir, { recursive: true });
    writeFileSync(join(dir, 'calendar', 'class-nowhere.ics'), 'BEGIN:VCALENDAR\nEND:VCALENDAR\n');
    expect(() => loadDirectoryFolder(dir)).toThrow(/calendar\/class-nowhere\.ics/);
  });
});
