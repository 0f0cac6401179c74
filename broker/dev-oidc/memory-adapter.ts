/**
 * oidc-provider storage in memory (development provider only: its sessions,
 * codes and grants vanish with the process, which is what a dev IdP wants).
 * Written here to avoid the library's "development-only adapter" warning path
 * and to expire entries deterministically.
 */
type Payload = Record<string, unknown> & { uid?: string; userCode?: string; grantId?: string; consumed?: number };

export function createMemoryAdapter() {
  const store = new Map<string, { payload: Payload; expiresAt?: number }>();
  const uids = new Map<string, string>();
  const userCodes = new Map<string, string>();
  const grants = new Map<string, Set<string>>();
  const live = (key: string) => {
    const e = store.get(key);
    if (!e) return undefined;
    if (e.expiresAt && e.expiresAt < Date.now()) {
      store.delete(key);
      return undefined;
    }
    return e.payload;
  };
  return class MemoryAdapter {
    private readonly name: string;
    constructor(name: string) {
      this.name = name;
    }
    private key(id: string) {
      return `${this.name}:${id}`;
    }
    async upsert(id: string, payload: Payload, expiresIn?: number) {
      const key = this.key(id);
      store.set(key, { payload: { ...payload }, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : undefined });
      if (payload.uid) uids.set(payload.uid, id);
      if (payload.userCode) userCodes.set(payload.userCode, id);
      if (payload.grantId) {
        let set = grants.get(payload.grantId);
        if (!set) grants.set(payload.grantId, (set = new Set()));
        set.add(key);
      }
    }
    async find(id: string) {
      return live(this.key(id));
    }
    async findByUid(uid: string) {
      const id = uids.get(uid);
      return id ? live(this.key(id)) : undefined;
    }
    async findByUserCode(code: string) {
      const id = userCodes.get(code);
      return id ? live(this.key(id)) : undefined;
    }
    async consume(id: string) {
      const p = live(this.key(id));
      if (p) p.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id: string) {
      store.delete(this.key(id));
    }
    async revokeByGrantId(grantId: string) {
      for (const key of grants.get(grantId) ?? []) store.delete(key);
      grants.delete(grantId);
    }
  };
}
