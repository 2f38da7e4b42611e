import type { DirectoryView, Person, StaffTarget } from '../engine/types.ts';
import type { DirectoryData, Guardian, Identities, School, Staff } from './model.ts';

/** How a platform account is named in identity links. */
export type IdentityChannel = 'web' | 'sms' | 'slack' | 'teams';

/** Read access to the school register, as the worker needs it. Async so a Redis-backed one fits the same seam. */
export interface DirectoryReader {
  /** The person a channel identity is linked to; anonymous when none is. */
  identify(channel: IdentityChannel, platformId: string): Promise<Person>;
  /** What dialogs may see for this person: their children, classes, teachers and calendars. */
  view(person: Person): Promise<DirectoryView>;
  /** Staff who should receive something addressed to a role, for this person's children. */
  staffFor(person: Person, target: StaffTarget): Promise<Staff[]>;
  guardian(id: string): Promise<Guardian | undefined>;
}

const IDENTITY_FIELD: Record<IdentityChannel, keyof Identities> = {
  web: 'webLogin',
  sms: 'phone',
  slack: 'slackId',
  teams: 'teamsId',
};

/** The register held in memory: the demo and the pilot (`npm start`). */
export class MemoryDirectory implements DirectoryReader {
  private readonly byIdentity = new Map<string, Person>();

  constructor(private readonly data: DirectoryData) {
    for (const g of data.guardians)
      this.link(g, { kind: 'guardian', id: g.id, name: g.name, preferredLang: g.preferredLang });
    for (const s of data.staff)
      this.link(s, { kind: 'staff', id: s.id, name: s.name, roles: s.roles, preferredLang: s.preferredLang });
  }

  private link(who: Identities, person: Person) {
    for (const [channel, field] of Object.entries(IDENTITY_FIELD)) {
      const value = who[field];
      if (value) this.byIdentity.set(`${channel}:${value}`, person);
    }
  }

  async identify(channel: IdentityChannel, platformId: string): Promise<Person> {
    return (
      this.byIdentity.get(`${channel}:${platformId}`) ?? { kind: 'anonymous', id: `${channel}:${platformId}` }
    );
  }

  async guardian(id: string) {
    return this.data.guardians.find((g) => g.id === id);
  }

  async view(person: Person): Promise<DirectoryView> {
    const { data } = this;
    const guardian = person.kind === 'guardian' ? data.guardians.find((g) => g.id === person.id) : undefined;
    const staff = person.kind === 'staff' ? data.staff.find((s) => s.id === person.id) : undefined;
    const school =
      data.schools.find((s) => s.id === (guardian?.schoolId ?? staff?.schoolId)) ?? data.schools[0];
    if (!school) throw new Error('directory: no school loaded');
    const aks = data.staff.find((s) => s.schoolId === school.id && s.roles.includes('aks-baseleder'));
    const children = guardian
      ? data.pupils
          .filter((p) => p.guardianIds.includes(guardian.id))
          .map((p) => {
            const cls = data.classes.find((c) => c.id === p.classId);
            const teacher = data.staff.find(
              (s) => s.roles.includes('kontaktlaerer') && s.classIds.includes(p.classId),
            );
            return {
              id: p.id,
              firstName: p.firstName,
              classId: p.classId,
              className: cls?.name ?? '',
              trinn: cls?.trinn ?? 0,
              ...(teacher
                ? {
                    teacher: {
                      id: teacher.id,
                      name: teacher.name,
                      ...(teacher.email ? { email: teacher.email } : {}),
                      ...(teacher.phone ? { phone: teacher.phone } : {}),
                    },
                  }
                : {}),
              events: data.classCalendars[p.classId] ?? [],
            };
          })
      : [];
    return {
      school: schoolView(school, aks),
      children,
      schoolCalendar: data.schoolCalendars[school.id] ?? [],
    };
  }

  async staffFor(person: Person, target: StaffTarget): Promise<Staff[]> {
    const view = await this.view(person);
    const schoolStaff = this.data.staff.filter((s) => s.schoolId === view.school.id);
    if (target.role === 'kontaktlaerer') {
      const child = view.children.find((c) => c.id === target.childId);
      return child
        ? schoolStaff.filter((s) => s.roles.includes('kontaktlaerer') && s.classIds.includes(child.classId))
        : [];
    }
    const role = target.role === 'aks' ? 'aks-baseleder' : target.role;
    return schoolStaff.filter((s) => s.roles.includes(role));
  }
}

/** What a dialog may show of a school: its public contact points and its AKS leader, nothing else. */
export function schoolView(school: School, aks: Staff | undefined): DirectoryView['school'] {
  return {
    id: school.id,
    name: school.name,
    standard: school.standard,
    maxLeaveDays: school.maxLeaveDays,
    ...(school.officePhone ? { officePhone: school.officePhone } : {}),
    ...(school.officeEmail ? { officeEmail: school.officeEmail } : {}),
    ...(school.website ? { website: school.website } : {}),
    ...(school.replyTimeDays ? { replyTimeDays: school.replyTimeDays } : {}),
    ...(aks ? { aksBaseleder: { name: aks.name, ...(aks.phone ? { phone: aks.phone } : {}) } } : {}),
  };
}
