import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { CustomerRole } from '../../shared/permissions/permissions.ts';

/**
 * The development provider's accounts. Passwords are random, generated once
 * into the state folder (mode 0600) and printed by `npm start`; the login page
 * accepts nothing else. Tests add accounts in memory with `add`.
 */
export interface DevIdentity {
  subject: string;
  email: string;
  name: string;
  password: string;
  groups: string[];
  emailVerified: boolean;
  /** For seeding: this identity's role in the demo workspace (customers only). */
  demoRole?: CustomerRole;
  /** For seeding: a new owner with an open sign-up invitation and no workspace (walks the setup wizard). */
  demoSignup?: boolean;
}

const SEED: Omit<DevIdentity, 'subject' | 'password'>[] = [
  { email: 'owner@demo-shop.example', name: 'Olivia Owner', groups: [], emailVerified: true, demoRole: 'owner' },
  { email: 'admin@demo-shop.example', name: 'Adam Admin', groups: [], emailVerified: true, demoRole: 'admin' },
  { email: 'analyst@demo-shop.example', name: 'Ana Analyst', groups: [], emailVerified: true, demoRole: 'analyst' },
  { email: 'readonly@demo-shop.example', name: 'Rita Readonly', groups: [], emailVerified: true, demoRole: 'readonly' },
  { email: 'engineer@wact.dev', name: 'Eli Engineer', groups: ['wact-engineers'], emailVerified: true },
  { email: 'support@wact.dev', name: 'Sam Support', groups: ['wact-support'], emailVerified: true },
  { email: 'security@wact.dev', name: 'Sec Officer', groups: ['wact-security'], emailVerified: true },
  { email: 'new-owner@example.com', name: 'New Owner', groups: [], emailVerified: true, demoSignup: true },
];

export function devIdentitiesPath(home: string): string {
  return path.join(home, 'dev-identities.json');
}

export function randomPassword(): string {
  return crypto.randomBytes(12).toString('base64url');
}

const fresh = (s: (typeof SEED)[number]): DevIdentity => ({ ...s, subject: crypto.randomUUID(), password: randomPassword() });

/**
 * Reads the seeded identities, creating them (with fresh subjects and passwords)
 * on first use. A state folder from before a seed entry existed gets just the
 * missing entries appended; existing ones keep their subjects and passwords.
 */
export function loadDevIdentities(home: string): DevIdentity[] {
  const file = devIdentitiesPath(home);
  let existing: DevIdentity[] | undefined;
  try {
    existing = JSON.parse(fs.readFileSync(file, 'utf8')) as DevIdentity[];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (existing) {
    const known = new Set(existing.map((i) => i.email.toLowerCase()));
    const missing = SEED.filter((s) => !known.has(s.email));
    if (!missing.length) return existing;
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify([...existing, ...missing.map(fresh)], null, 2) + '\n', { mode: 0o600 });
    fs.renameSync(tmp, file);
    return JSON.parse(fs.readFileSync(file, 'utf8')) as DevIdentity[];
  }
  const identities = SEED.map(fresh);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(identities, null, 2) + '\n', { mode: 0o600 });
  try {
    fs.linkSync(tmp, file); // another process won the race: keep theirs
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    fs.unlinkSync(tmp);
  }
  return JSON.parse(fs.readFileSync(file, 'utf8')) as DevIdentity[];
}

export interface DevIdentityStore {
  bySubject(subject: string): DevIdentity | undefined;
  /** The identity if the password matches (constant-time), else undefined. */
  check(email: string, password: string): DevIdentity | undefined;
  add(identity: Omit<DevIdentity, 'subject' | 'password' | 'groups' | 'emailVerified'> & Partial<DevIdentity>): DevIdentity;
  list(): DevIdentity[];
}

export function createDevIdentityStore(initial: DevIdentity[]): DevIdentityStore {
  const all = new Map(initial.map((i) => [i.subject, i]));
  const digest = (s: string) => crypto.createHash('sha256').update(s).digest();
  return {
    bySubject: (subject) => all.get(subject),
    check(email, password) {
      const wanted = email.trim().toLowerCase();
      const candidate = [...all.values()].find((i) => i.email.toLowerCase() === wanted);
      // Compare digests so the time does not depend on where the strings differ.
      const ok = crypto.timingSafeEqual(digest(password), digest(candidate?.password ?? crypto.randomBytes(16).toString('hex')));
      return candidate && ok ? candidate : undefined;
    },
    add(input) {
      const identity: DevIdentity = {
        subject: input.subject ?? crypto.randomUUID(),
        password: input.password ?? randomPassword(),
        groups: input.groups ?? [],
        emailVerified: input.emailVerified ?? true,
        email: input.email,
        name: input.name,
        demoRole: input.demoRole,
        demoSignup: input.demoSignup,
      };
      all.set(identity.subject, identity);
      return identity;
    },
    list: () => [...all.values()],
  };
}
