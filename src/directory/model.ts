import type { CalendarEntry } from '../engine/types.ts';

/** The school register, as loaded from an operator's folder (CSV + ICS). Plain data, no behaviour. */
export interface School {
  id: string;
  name: string;
  officePhone?: string;
  officeEmail?: string;
  website?: string;
  standard: string;
  replyTimeDays?: number;
  maxLeaveDays: number;
}

export interface ClassGroup {
  id: string;
  schoolId: string;
  trinn: number;
  name: string;
}

export const STAFF_ROLES = ['kontaktlaerer', 'rektor', 'office', 'aks-baseleder', 'fau'] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

/** Channel identities of a person; each one links a platform account to them. */
export interface Identities {
  phone?: string;
  email?: string;
  slackId?: string;
  teamsId?: string;
  webLogin?: string;
}

export interface Staff extends Identities {
  id: string;
  schoolId: string;
  name: string;
  roles: StaffRole[];
  classIds: string[];
  preferredLang: string;
  /**
   * For an FAU member: what they may broadcast to, each `school`, `trinn:<n>` or
   * `class:<class id>` (staff.csv `fau_scope`, space-separated). Unset: nothing.
   */
  fauScope?: string[];
}

export interface Guardian extends Identities {
  id: string;
  schoolId: string;
  name: string;
  preferredLang: string;
}

export interface Pupil {
  id: string;
  schoolId: string;
  firstName: string;
  lastName: string;
  classId: string;
  guardianIds: string[];
}

export interface DirectoryData {
  schools: School[];
  classes: ClassGroup[];
  staff: Staff[];
  guardians: Guardian[];
  pupils: Pupil[];
  /** School-wide calendars by school id, class calendars by class id. */
  schoolCalendars: Record<string, CalendarEntry[]>;
  classCalendars: Record<string, CalendarEntry[]>;
}
