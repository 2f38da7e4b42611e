import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A synthetic school district in the folder format `loadDirectoryFolder` reads
 * (schools.csv ... pupils.csv, calendar/*.ics), deterministic for a seed. Every
 * person, phone number and id is made up; school names borrow Oslo place names and
 * say "(demo)". Rows are written as they are generated, so Oslo scale (125,000
 * guardians) takes seconds and little memory.
 */

export interface DemoDataOptions {
  guardians: number;
  /** Default: one school per ~875 guardians, as in Oslo (125,000 / 143). */
  schools?: number;
  seed?: string | number;
  /** First calendar year of the school year the calendars cover. Default 2025 (2025/26). */
  schoolYear?: number;
}

export interface DemoDataSummary {
  schools: number;
  classes: number;
  staff: number;
  guardians: number;
  pupils: number;
  calendarFiles: number;
  /** Guardians per preferred language. */
  languages: Record<string, number>;
}

/**
 * Guardians' preferred languages: Norwegian for most, then the largest home
 * languages of Oslo pupils (about 40 % have a minority-language background, and
 * some of their parents still prefer Norwegian). Codes as in locales/.
 */
const LANGUAGE_WEIGHTS: Record<string, number> = {
  nb: 60,
  ur: 5.5,
  so: 5.5,
  ar: 4.5,
  pl: 4.5,
  en: 2.5,
  ti: 2.5,
  uk: 2,
  ta: 1.5,
  tr: 1.5,
  vi: 1.5,
  fa: 1.2,
  sq: 1.2,
  ku: 1,
  ru: 1,
  lt: 1,
  prs: 0.8,
  fil: 0.7,
  th: 0.6,
  kmr: 0.5,
  ps: 0.5,
};

interface NamePool {
  f: string[];
  m: string[];
  s: string[];
}

const NAMES: Record<string, NamePool> = {
  nb: {
    f: ['Kari', 'Ingrid', 'Nora', 'Emma', 'Sara', 'Ida', 'Hanne', 'Silje', 'Marte', 'Tone', 'Line', 'Thea'],
    m: [
      'Ola',
      'Lars',
      'Jonas',
      'Anders',
      'Per',
      'Erik',
      'Magnus',
      'Henrik',
      'Morten',
      'Jakob',
      'Filip',
      'Even',
    ],
    s: ['Hansen', 'Johansen', 'Olsen', 'Larsen', 'Andersen', 'Pedersen', 'Nilsen', 'Berg', 'Haugen', 'Hagen'],
  },
  so: {
    f: ['Amina', 'Hodan', 'Fadumo', 'Ayaan', 'Hibaaq', 'Sahra', 'Nimco', 'Ifrah', 'Ubah', 'Khadra'],
    m: ['Abdi', 'Mohamed', 'Ahmed', 'Abdirahman', 'Hassan', 'Yusuf', 'Mahad', 'Liban', 'Ismail'],
    s: ['Hassan', 'Abdi', 'Ali', 'Warsame', 'Farah', 'Jama', 'Osman', 'Mohamud', 'Nur', 'Aden'],
  },
  ur: {
    f: ['Fatima', 'Ayesha', 'Sana', 'Hina', 'Nadia', 'Rabia', 'Saima', 'Zainab', 'Mariam', 'Iqra'],
    m: ['Imran', 'Bilal', 'Usman', 'Kamran', 'Asif', 'Tariq', 'Faisal', 'Hamza', 'Adeel'],
    s: ['Khan', 'Ahmed', 'Hussain', 'Butt', 'Chaudhry', 'Malik', 'Iqbal', 'Rana', 'Mirza', 'Qureshi'],
  },
  ar: {
    f: ['Layla', 'Noor', 'Huda', 'Rania', 'Salma', 'Yasmin', 'Dalia', 'Amal', 'Reem', 'Hanan'],
    m: ['Omar', 'Ahmad', 'Khaled', 'Mahmoud', 'Karim', 'Samir', 'Youssef', 'Tarek', 'Nabil'],
    s: ['Al-Sayed', 'Haddad', 'Mansour', 'Nasser', 'Saleh', 'Khalil', 'Hamdan', 'Darwish', 'Aziz'],
  },
  pl: {
    f: ['Anna', 'Katarzyna', 'Magdalena', 'Agnieszka', 'Joanna', 'Monika', 'Ewa', 'Karolina'],
    m: ['Piotr', 'Tomasz', 'Paweł', 'Marcin', 'Krzysztof', 'Michał', 'Łukasz', 'Jakub'],
    s: ['Kowalski', 'Nowak', 'Wiśniewski', 'Wójcik', 'Kamiński', 'Lewandowski', 'Zieliński'],
  },
  ti: {
    f: ['Selam', 'Helen', 'Senait', 'Saba', 'Meron', 'Yordanos', 'Lidia', 'Rahwa'],
    m: ['Tesfay', 'Yonas', 'Dawit', 'Samuel', 'Filmon', 'Mehari', 'Biniam', 'Robel'],
    s: ['Gebremariam', 'Tesfamariam', 'Haile', 'Kidane', 'Berhane', 'Woldu', 'Tekle'],
  },
  uk: {
    f: ['Olena', 'Iryna', 'Oksana', 'Natalia', 'Yulia', 'Tetiana', 'Kateryna', 'Svitlana'],
    m: ['Andrii', 'Oleksandr', 'Dmytro', 'Serhii', 'Mykola', 'Vasyl', 'Taras'],
    s: ['Kovalenko', 'Shevchenko', 'Bondarenko', 'Tkachenko', 'Kravchenko', 'Melnyk', 'Boyko'],
  },
  ru: {
    f: ['Anastasia', 'Elena', 'Olga', 'Maria', 'Tatiana', 'Svetlana'],
    m: ['Alexei', 'Ivan', 'Sergei', 'Dmitri', 'Nikolai', 'Andrei'],
    s: ['Ivanov', 'Smirnov', 'Kuznetsov', 'Popov', 'Volkov', 'Petrov'],
  },
  tr: {
    f: ['Elif', 'Ayşe', 'Zeynep', 'Fatma', 'Emine', 'Merve', 'Büşra', 'Esra'],
    m: ['Mehmet', 'Mustafa', 'Ahmet', 'Ali', 'Hüseyin', 'Murat', 'Emre', 'Burak'],
    s: ['Yılmaz', 'Kaya', 'Demir', 'Şahin', 'Çelik', 'Yıldız', 'Aydın', 'Öztürk'],
  },
  vi: {
    f: ['Linh', 'Lan', 'Huong', 'Mai', 'Thao', 'Trang', 'Ngoc', 'Hoa'],
    m: ['Minh', 'Tuan', 'Hung', 'Duc', 'Nam', 'Long', 'Quang', 'Thanh'],
    s: ['Nguyen', 'Tran', 'Le', 'Pham', 'Hoang', 'Vu', 'Dang', 'Bui'],
  },
  fa: {
    f: ['Maryam', 'Shirin', 'Parisa', 'Leila', 'Neda', 'Roya', 'Azadeh'],
    m: ['Arash', 'Reza', 'Mehdi', 'Amir', 'Hossein', 'Babak', 'Kaveh'],
    s: ['Karimi', 'Ahmadi', 'Hosseini', 'Rezaei', 'Moradi', 'Jafari', 'Sadeghi'],
  },
  prs: {
    f: ['Zahra', 'Fariba', 'Nazanin', 'Mursal', 'Shabnam', 'Freshta'],
    m: ['Ahmad', 'Farid', 'Naveed', 'Rahim', 'Mustafa', 'Jawad'],
    s: ['Noori', 'Rahimi', 'Sultani', 'Haidari', 'Azizi', 'Stanikzai'],
  },
  ps: {
    f: ['Malalai', 'Palwasha', 'Gulalai', 'Zarmina', 'Mina', 'Nazo'],
    m: ['Wahid', 'Khalid', 'Ajmal', 'Naqib', 'Samiullah', 'Hamid'],
    s: ['Yousafzai', 'Durrani', 'Popal', 'Wardak', 'Safi', 'Momand'],
  },
  ku: {
    f: ['Shilan', 'Bahar', 'Rojin', 'Nasrin', 'Hêro', 'Sozan'],
    m: ['Karwan', 'Rebin', 'Dilshad', 'Aram', 'Hawre', 'Shvan'],
    s: ['Rashid', 'Kareem', 'Mahmood', 'Salih', 'Qadir', 'Aziz'],
  },
  kmr: {
    f: ['Zelal', 'Berfin', 'Rojda', 'Dilan', 'Nûdem', 'Hêvî'],
    m: ['Serhat', 'Azad', 'Baran', 'Welat', 'Rêber', 'Zana'],
    s: ['Doğan', 'Aslan', 'Yıldırım', 'Tekin', 'Kaplan', 'Akgül'],
  },
  ta: {
    f: ['Priya', 'Kavitha', 'Lakshmi', 'Sangeetha', 'Nirmala', 'Thivya'],
    m: ['Tharshan', 'Suresh', 'Kumar', 'Rajan', 'Sivakumar', 'Prakash'],
    s: ['Sivakumar', 'Rajendran', 'Kanagaratnam', 'Selvarajah', 'Balasingam', 'Tharmalingam'],
  },
  en: {
    f: ['Sarah', 'Emily', 'Jessica', 'Laura', 'Rachel', 'Hannah'],
    m: ['John', 'David', 'James', 'Michael', 'Daniel', 'Matthew'],
    s: ['Smith', 'Jones', 'Brown', 'Taylor', 'Wilson', 'Evans'],
  },
  sq: {
    f: ['Arta', 'Blerta', 'Drita', 'Vjosa', 'Teuta', 'Fjolla'],
    m: ['Arben', 'Besnik', 'Driton', 'Fatmir', 'Gentian', 'Kujtim'],
    s: ['Krasniqi', 'Gashi', 'Berisha', 'Hoxha', 'Shala', 'Morina'],
  },
  lt: {
    f: ['Rūta', 'Asta', 'Jurgita', 'Laima', 'Inga', 'Eglė'],
    m: ['Tomas', 'Mindaugas', 'Darius', 'Andrius', 'Rimantas', 'Vytautas'],
    s: ['Kazlauskas', 'Jankauskas', 'Petrauskas', 'Stankevičius', 'Vasiliauskas', 'Žukauskas'],
  },
  th: {
    f: ['Siriporn', 'Malee', 'Kanya', 'Ploy', 'Somsri', 'Ratana'],
    m: ['Somchai', 'Niran', 'Anan', 'Chaiwat', 'Kittisak', 'Prasert'],
    s: ['Saetang', 'Srisuk', 'Chaiyaporn', 'Wongsa', 'Boonmee', 'Rattanakorn'],
  },
  fil: {
    f: ['Maria', 'Joy', 'Cristina', 'Rowena', 'Marites', 'Analyn'],
    m: ['Jose', 'Mark', 'Rodel', 'Jericho', 'Paolo', 'Ramon'],
    s: ['Santos', 'Reyes', 'Cruz', 'Bautista', 'Garcia', 'Mendoza'],
  },
};

const PLACES = [
  'Bjølsen',
  'Sagene',
  'Lakkegata',
  'Tøyen',
  'Vahl',
  'Kampen',
  'Grünerløkka',
  'Ila',
  'Fagerborg',
  'Majorstuen',
  'Uranienborg',
  'Ruseløkka',
  'Lilleborg',
  'Sinsen',
  'Hasle',
  'Ellingsrudåsen',
  'Furuset',
  'Haugen',
  'Lindeberg',
  'Tokerud',
  'Stovner',
  'Rommen',
  'Vestli',
  'Haugenstua',
  'Grorud',
  'Ammerud',
  'Kalbakken',
  'Veitvet',
  'Rødtvet',
  'Linderud',
  'Tonsenhagen',
  'Bredtvet',
  'Lofsrud',
  'Mortensrud',
  'Holmlia',
  'Hauketo',
  'Bjørnholt',
  'Bøler',
  'Manglerud',
  'Ryen',
  'Lambertseter',
  'Nordstrand',
  'Ljan',
  'Ulsrud',
  'Oppsal',
  'Trosterud',
  'Vetland',
  'Abildsø',
  'Godlia',
  'Bogerud',
  'Skullerud',
  'Klemetsrud',
  'Lusetjern',
  'Munkerud',
  'Ekeberg',
  'Kastellet',
  'Brannfjell',
  'Nordseter',
  'Smestad',
  'Vinderen',
  'Slemdal',
  'Ris',
  'Ullevål',
  'Berg',
  'Tåsen',
  'Korsvoll',
  'Nordberg',
  'Kringsjå',
  'Sogn',
  'Engebråten',
  'Grefsen',
  'Kjelsås',
  'Disen',
  'Lysejordet',
  'Ullern',
  'Hovseter',
  'Røa',
  'Bestum',
  'Skøyen',
  'Huseby',
  'Vindern',
  'Voksen',
  'Grindbakken',
  'Bogstad',
  'Gran',
  'Apalløkka',
  'Bakkehaugen',
  'Hellerud',
  'Tveita',
  'Teisen',
  'Jordal',
  'Vålerenga',
  'Gamlebyen',
  'Vøyenenga',
  'Marienlyst',
  'Bolteløkka',
  'Lindern',
  'Frydenberg',
  'Hoff',
  'Løren',
  'Refstad',
  'Årvoll',
  'Lilletorget',
];

/** Every so many guardians has a web login, so even a small district has demo sign-ins. */
const WEB_LOGIN_EVERY = 9;

/** Writes a generated district into `dir` (created if missing; files of the same names are overwritten). */
export function generateDemoData(dir: string, options: DemoDataOptions): DemoDataSummary {
  const total = Math.floor(options.guardians);
  if (!(total >= 1)) throw new Error('guardians must be at least 1');
  const schoolCount = Math.max(1, Math.floor(options.schools ?? Math.round(total / 875)));
  const year = options.schoolYear ?? 2025;
  const rng = prng(String(options.seed ?? 'skolebro'));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rng() * items.length)] as T;
  const weighted = weightedPicker(rng);
  const pickLang = weighted(LANGUAGE_WEIGHTS);
  const phones = phoneNumbers(rng);
  mkdirSync(join(dir, 'calendar'), { recursive: true });

  // Family shape: 1 or 2 guardians, 1 to 4 children (siblings share their guardians).
  const CHILDREN: Record<string, number> = { 1: 0.55, 2: 0.33, 3: 0.09, 4: 0.03 };
  const TWO_GUARDIANS = 0.82;
  const expectedChildren = Object.entries(CHILDREN).reduce((n, [c, p]) => n + Number(c) * p, 0);
  const pupilsPerGuardian = expectedChildren / (1 + TWO_GUARDIANS);
  const pickChildren = weighted(CHILDREN);

  const schools = new CsvFile(join(dir, 'schools.csv'), [
    'id',
    'name',
    'office_phone',
    'office_email',
    'website',
    'standard',
    'reply_time_days',
    'max_leave_days',
  ]);
  const classes = new CsvFile(join(dir, 'classes.csv'), ['id', 'school_id', 'trinn', 'name']);
  const staff = new CsvFile(join(dir, 'staff.csv'), [
    'id',
    'school_id',
    'name',
    'roles',
    'class_ids',
    'email',
    'phone',
    'preferred_lang',
    'slack_id',
    'teams_id',
    'web_login',
  ]);
  const guardians = new CsvFile(join(dir, 'guardians.csv'), [
    'id',
    'school_id',
    'name',
    'preferred_lang',
    'phone',
    'email',
    'slack_id',
    'teams_id',
    'web_login',
  ]);
  const pupils = new CsvFile(join(dir, 'pupils.csv'), [
    'id',
    'school_id',
    'first_name',
    'last_name',
    'class_id',
    'guardian_ids',
  ]);

  const summary: DemoDataSummary = {
    schools: schoolCount,
    classes: 0,
    staff: 0,
    guardians: 0,
    pupils: 0,
    calendarFiles: 0,
    languages: {},
  };
  const weights = Array.from({ length: schoolCount }, () => 0.5 + rng());
  const weightSum = weights.reduce((a, b) => a + b, 0);
  const usedIds = new Set<string>();
  const schoolList: Array<{ id: string; classesByTrinn: string[][] }> = [];
  const schoolCalendar = schoolYearCalendar(year);

  for (let s = 0; s < schoolCount; s++) {
    const place = PLACES[s % PLACES.length] as string;
    const round = Math.floor(s / PLACES.length);
    const name = `${round === 0 ? place : `${place} ${round + 1}`} skole (demo)`;
    let id = slug(round === 0 ? place : `${place}-${round + 1}`);
    while (usedIds.has(id)) id = `${id}-x`;
    usedIds.add(id);
    const domain = `${id}.skole.example`;
    const officePhone = `+4722${String((s * 7919 + 104_729) % 1_000_000).padStart(6, '0')}`;
    schools.row([
      id,
      name,
      officePhone,
      `kontoret@${domain}`,
      `https://${domain}`,
      'oslo-2014',
      rng() < 0.2 ? String(pick([2, 3, 5])) : '',
      '10',
    ]);
    writeFile(
      join(dir, 'calendar', `school-${id}-${year}-${String((year + 1) % 100).padStart(2, '0')}.ics`),
      ics(
        `${name} ${year}/${year + 1} (illustrative)`,
        schoolCalendar.map((e, i) => ({ ...e, uid: `${id}-${i}` })),
        year,
      ),
    );
    summary.calendarFiles += 1;

    // Classes of about 24 from the school's expected size; every school has trinn 1–10.
    const perTrinn = (((total * (weights[s] as number)) / weightSum) * pupilsPerGuardian) / 10;
    const platform = rng() < 0.75 ? 'teams' : 'slack';
    const person = (
      role: string,
      staffId: string,
      extra: { classIds?: string; phone?: string; name?: string },
    ) => {
      const lang = rng() < 0.85 ? 'nb' : pickLang();
      const pool = NAMES[lang] ?? (NAMES.nb as NamePool);
      const first = pick(rng() < 0.6 ? pool.f : pool.m);
      const last = pick(pool.s);
      const fullName = extra.name ?? `${first} ${last}`;
      const email = extra.name ? `kontoret@${domain}` : `${slug(first)}.${slug(last)}@${domain}`;
      staff.row([
        staffId,
        id,
        fullName,
        role,
        extra.classIds ?? '',
        email,
        extra.phone ?? phones.next(),
        rng() < 0.95 ? 'nb' : 'en',
        platform === 'slack' ? `US${platformId(summary.staff)}` : '',
        platform === 'teams' ? `29:1${platformId(summary.staff)}` : '',
        '',
      ]);
      summary.staff += 1;
    };
    person('rektor', `${id}-rektor`, {});
    person('office', `${id}-kontor`, { phone: officePhone, name: 'Skolekontoret' });
    person('aks-baseleder', `${id}-aks`, {});
    person('fau', `${id}-fau`, {});
    const classesByTrinn: string[][] = [];
    for (let trinn = 1; trinn <= 10; trinn++) {
      const count = Math.max(1, Math.round(perTrinn / 24));
      const ids: string[] = [];
      for (let c = 0; c < count; c++) {
        const letter = String.fromCharCode(65 + c);
        const classId = `${id}-${trinn}${letter.toLowerCase()}`;
        ids.push(classId);
        classes.row([classId, id, String(trinn), `${trinn}${letter}`]);
        summary.classes += 1;
        person('kontaktlaerer', `t-${classId}`, {
          classIds: classId,
          ...(rng() < 0.3 ? { phone: '' } : {}),
        });
        writeFile(
          join(dir, 'calendar', `class-${classId}.ics`),
          ics(`${trinn}${letter} ${name}`, classCalendar(year, trinn, c, classId), year),
        );
        summary.calendarFiles += 1;
      }
      classesByTrinn.push(ids);
    }
    schoolList.push({ id, classesByTrinn });
  }

  const pickSchool = weighted(Object.fromEntries(weights.map((w, i) => [String(i), w])));
  while (summary.guardians < total) {
    const school = schoolList[Number(pickSchool())] as (typeof schoolList)[number];
    const lang = pickLang();
    const pool = NAMES[lang] ?? (NAMES.nb as NamePool);
    const surname = pick(pool.s);
    const adults = Math.min(rng() < TWO_GUARDIANS ? 2 : 1, total - summary.guardians);
    const ids: string[] = [];
    let firstGender = rng() < 0.55 ? 'f' : 'm';
    for (let a = 0; a < adults; a++) {
      const n = summary.guardians + 1;
      const gender = a === 0 ? firstGender : firstGender === 'f' ? 'm' : 'f';
      const first = pick(gender === 'f' ? pool.f : pool.m);
      const last = lang === 'nb' && a === 1 && rng() < 0.35 ? pick(pool.s) : surname;
      // Some parents with another home language choose Norwegian; some Norwegian families have one parent who does not.
      const preferred =
        lang !== 'nb'
          ? rng() < 0.12
            ? 'nb'
            : lang
          : a === 1 && rng() < 0.05
            ? pick(['en', 'pl', 'lt'])
            : 'nb';
      const id = `g-${String(n).padStart(6, '0')}`;
      const handle = `${slug(first)}.${n}`;
      guardians.row([
        id,
        school.id,
        `${first} ${last}`,
        preferred,
        phones.next(),
        rng() < 0.45 ? `${handle}@epost.example` : '',
        rng() < 0.04 ? `UG${platformId(n)}` : '',
        rng() < 0.06 ? `29:1g${platformId(n)}` : '',
        rng() < 0.3 || n % WEB_LOGIN_EVERY === 1 ? handle : '',
      ]);
      summary.languages[preferred] = (summary.languages[preferred] ?? 0) + 1;
      summary.guardians += 1;
      ids.push(id);
      firstGender = gender;
    }
    const trinns = new Set<number>();
    const count = Number(pickChildren());
    while (trinns.size < count) trinns.add(1 + Math.floor(rng() * 10));
    for (const trinn of trinns) {
      summary.pupils += 1;
      const classId = pick(school.classesByTrinn[trinn - 1] as string[]);
      pupils.row([
        `p-${String(summary.pupils).padStart(6, '0')}`,
        school.id,
        pick(rng() < 0.5 ? pool.f : pool.m),
        surname,
        classId,
        ids.join(' '),
      ]);
    }
  }
  for (const file of [schools, classes, staff, guardians, pupils]) file.close();
  return summary;
}

/** sfc32 seeded from a string (cyrb128): fast, good enough, and the same on every platform. */
export function prng(seed: string): () => number {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < seed.length; i++) {
    const k = seed.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  let a = Math.imul(h3 ^ (h1 >>> 18), 597399067) >>> 0;
  let b = Math.imul(h4 ^ (h2 >>> 22), 2869860233) >>> 0;
  let c = Math.imul(h1 ^ (h3 >>> 17), 951274213) >>> 0;
  let d = Math.imul(h2 ^ (h4 >>> 19), 2716044179) >>> 0;
  return () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    const t = (a + b + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t / 4294967296;
  };
}

function weightedPicker(rng: () => number) {
  return (weights: Record<string, number>) => {
    const keys = Object.keys(weights);
    const cumulative: number[] = [];
    let sum = 0;
    for (const k of keys) {
      sum += weights[k] as number;
      cumulative.push(sum);
    }
    return (): string => {
      const x = rng() * sum;
      let lo = 0;
      let hi = cumulative.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((cumulative[mid] as number) > x) hi = mid;
        else lo = mid + 1;
      }
      return keys[lo] as string;
    };
  };
}

/**
 * Norwegian mobile numbers (+47 4xxxxxxx / 9xxxxxxx) without repeats: a seeded
 * bijection on 25-bit counters (multiply, xorshift, multiply), cycle-walked into the
 * 20 million candidates, so no set of used numbers is needed.
 */
function phoneNumbers(rng: () => number) {
  const space = 20_000_000;
  const mask = (1 << 25) - 1;
  const m1 = (Math.floor(rng() * mask) | 1) >>> 0;
  const m2 = (Math.floor(rng() * mask) | 1) >>> 0;
  const scramble = (x: number) => {
    let y = Math.imul(x, m1) & mask;
    y ^= y >>> 13;
    y = Math.imul(y, m2) & mask;
    return y ^ (y >>> 11);
  };
  let i = 0;
  return {
    next(): string {
      let n = scramble(i++);
      while (n >= space) n = scramble(n);
      return n < 10_000_000
        ? `+474${String(n).padStart(7, '0')}`
        : `+479${String(n - 10_000_000).padStart(7, '0')}`;
    },
  };
}

/** An opaque, unique platform id from a counter (Slack's are upper-case base 36). */
function platformId(n: number): string {
  return (n * 2_654_435_761 + 0x5f3759df).toString(36).toUpperCase().padStart(10, '0');
}

function slug(text: string): string {
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/ø/g, 'o')
    .replace(/æ/g, 'ae')
    .replace(/ł/g, 'l')
    .replace(/ı/g, 'i')
    .replace(/[^a-z0-9-]+/g, '');
}

/** A CSV file written in large chunks as rows arrive. */
class CsvFile {
  private readonly fd: number;
  private buffer = '';

  constructor(path: string, header: string[]) {
    this.fd = openSync(path, 'w');
    this.row(header);
  }

  row(cells: string[]) {
    this.buffer += `${cells.map(csvCell).join(',')}\n`;
    if (this.buffer.length > 1 << 20) this.flush();
  }

  close() {
    this.flush();
    closeSync(this.fd);
  }

  private flush() {
    writeSync(this.fd, this.buffer);
    this.buffer = '';
  }
}

function csvCell(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function writeFile(path: string, text: string) {
  const fd = openSync(path, 'w');
  writeSync(fd, text);
  closeSync(fd);
}

interface Event {
  uid: string;
  summary: string;
  category: string;
  /** YYYYMMDD for all-day events, YYYYMMDDTHHMMSS (Oslo time) otherwise. */
  start: string;
  end: string;
  location?: string;
}

const VTIMEZONE = [
  'BEGIN:VTIMEZONE',
  'TZID:Europe/Oslo',
  'BEGIN:DAYLIGHT',
  'TZOFFSETFROM:+0100',
  'TZOFFSETTO:+0200',
  'TZNAME:CEST',
  'DTSTART:19700329T020000',
  'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU',
  'END:DAYLIGHT',
  'BEGIN:STANDARD',
  'TZOFFSETFROM:+0200',
  'TZOFFSETTO:+0100',
  'TZNAME:CET',
  'DTSTART:19701025T030000',
  'RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU',
  'END:STANDARD',
  'END:VTIMEZONE',
].join('\r\n');

function ics(name: string, events: Event[], year: number): string {
  const when = (prop: string, v: string) =>
    v.includes('T') ? `${prop};TZID=Europe/Oslo:${v}` : `${prop};VALUE=DATE:${v}`;
  const lines = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//Skolebro//demo-data//NB',
    'CALSCALE:GREGORIAN',
    `X-WR-CALNAME:${name}`,
    VTIMEZONE,
  ];
  for (const e of events) {
    lines.push(
      'BEGIN:VEVENT',
      `UID:${e.uid}@demo-data.skolebro`,
      `DTSTAMP:${year}0601T000000Z`,
      `SUMMARY:${e.summary}`,
      `CATEGORIES:${e.category}`,
      when('DTSTART', e.start),
      when('DTEND', e.end),
      ...(e.location ? [`LOCATION:${e.location}`] : []),
      'END:VEVENT',
    );
  }
  lines.push('END:VCALENDAR', '');
  return lines.join('\r\n');
}

const DAY = 86_400_000;
const ymd = (t: number) => new Date(t).toISOString().slice(0, 10).replaceAll('-', '');
const date = (y: number, m: number, d: number) => Date.UTC(y, m - 1, d);
const weekday = (t: number) => (new Date(t).getUTCDay() + 6) % 7; // Monday 0

/** Monday of ISO week `week` of `year`. */
function isoMonday(year: number, week: number): number {
  const jan4 = date(year, 1, 4);
  return jan4 - weekday(jan4) * DAY + (week - 1) * 7 * DAY;
}

/** Easter Sunday (Gregorian; anonymous algorithm). */
function easter(y: number): number {
  const a = y % 19;
  const b = Math.floor(y / 100);
  const c = y % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return date(y, month, day);
}

/**
 * An Oslo-style school year (start in week 34, høstferie week 40, vinterferie week 8,
 * påske, public holidays, end in week 25). Illustrative, not the official calendar.
 */
function schoolYearCalendar(year: number): Array<Omit<Event, 'uid'>> {
  const next = year + 1;
  const allDay = (summary: string, category: string, from: number, toInclusive: number) => ({
    summary,
    category,
    start: ymd(from),
    end: ymd(toInclusive + DAY),
  });
  let christmas = date(year, 12, 22);
  while (weekday(christmas) > 4) christmas += DAY;
  let christmasEnd = date(next, 1, 2);
  if (weekday(christmasEnd) > 4) christmasEnd = date(next, 1, 1);
  else christmasEnd += (4 - weekday(christmasEnd)) * DAY;
  const e = easter(next);
  const events = [
    allDay('Første skoledag', 'school-start', isoMonday(year, 34), isoMonday(year, 34)),
    allDay('Høstferie', 'holiday', isoMonday(year, 40), isoMonday(year, 40) + 4 * DAY),
    allDay('Juleferie', 'holiday', christmas, christmasEnd),
    allDay('Vinterferie', 'holiday', isoMonday(next, 8), isoMonday(next, 8) + 4 * DAY),
    allDay('Påskeferie', 'holiday', e - 6 * DAY, e + DAY),
    allDay('Fridag (1. mai)', 'day-off', date(next, 5, 1), date(next, 5, 1)),
    allDay('Fridag (Kristi himmelfartsdag)', 'day-off', e + 39 * DAY, e + 39 * DAY),
    allDay('Fridag (2. pinsedag)', 'day-off', e + 50 * DAY, e + 50 * DAY),
    allDay('Siste skoledag', 'school-end', isoMonday(next, 25) + 4 * DAY, isoMonday(next, 25) + 4 * DAY),
  ];
  const may17 = date(next, 5, 17);
  if (weekday(may17) < 5) events.push(allDay('Fridag (17. mai)', 'day-off', may17, may17));
  return events.sort((a, b) => a.start.localeCompare(b.start));
}

/** Two foreldremøter and two rounds of utviklingssamtaler, spread over evenings by trinn and class. */
function classCalendar(year: number, trinn: number, index: number, classId: string): Event[] {
  const evening = (monday: number, slot: number) => {
    const day = monday + ((slot % 3) + 1) * DAY; // Tuesday to Thursday
    return { start: `${ymd(day)}T180000`, end: `${ymd(day)}T193000` };
  };
  const slot = trinn + index;
  const place = trinn % 2 === 0 ? 'Aulaen' : 'Klasserommet';
  return [
    {
      uid: `${classId}-fm1`,
      summary: 'Foreldremøte',
      category: 'foreldremote',
      ...evening(isoMonday(year, 36 + (slot % 2)), slot),
      location: place,
    },
    {
      uid: `${classId}-us1`,
      summary: 'Utviklingssamtaler',
      category: 'utviklingssamtale',
      start: ymd(isoMonday(year, 45)),
      end: ymd(isoMonday(year, 46) + 5 * DAY),
    },
    {
      uid: `${classId}-fm2`,
      summary: 'Foreldremøte',
      category: 'foreldremote',
      ...evening(isoMonday(year + 1, 5 + (slot % 2)), slot + 1),
      location: place,
    },
    {
      uid: `${classId}-us2`,
      summary: 'Utviklingssamtaler',
      category: 'utviklingssamtale',
      start: ymd(isoMonday(year + 1, 10)),
      end: ymd(isoMonday(year + 1, 11) + 5 * DAY),
    },
  ];
}
