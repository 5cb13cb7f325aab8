// The admin API's entities in a SQLite file (better-sqlite3 12: synchronous, embedded; major 13 needs
// Node 22). Replicas on one host share the file: WAL lets them read while one writes, and each polls
// `PRAGMA data_version` (which moves when another connection commits) to pick up their changes.
import Database from 'better-sqlite3';
import { digestField, type EntityKind, type EntitySnapshot, type EntityStore, type KeyCreation, type KeyRecord, type KeyRemoval } from './entities.ts';

const POLL_MS = 1_000;
/** The row that says the last key was deleted on purpose (EntitySnapshot.opened). */
const OPENED = 'opened';

export class SqliteEntities implements EntityStore {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private version: number;
  private readonly listeners: Array<() => void> = [];
  private readonly timer: NodeJS.Timeout;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 2000');
    this.db.exec('CREATE TABLE IF NOT EXISTS entities (kind TEXT NOT NULL, id TEXT NOT NULL, json TEXT NOT NULL, PRIMARY KEY (kind, id))');
    this.version = this.dataVersion();
    this.timer = setInterval(() => this.poll(), POLL_MS);
    this.timer.unref();
  }

  private dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  private poll(): void {
    let v: number;
    try {
      v = this.dataVersion();
    } catch {
      return;
    }
    if (v === this.version) return;
    this.version = v;
    for (const l of this.listeners) l();
  }

  async load(): Promise<EntitySnapshot> {
    const rows = this.db.prepare('SELECT kind, json FROM entities ORDER BY kind, id').all() as Array<{ kind: EntityKind; json: string }>;
    const out: EntitySnapshot = { keys: [], teams: [], customers: [] };
    for (const r of rows) {
      const v = JSON.parse(r.json) as never;
      if (r.kind === 'key') out.keys.push(v);
      else if (r.kind === 'team') out.teams.push(v);
      else if (r.kind === 'customer') out.customers.push(v);
      else if (r.kind === OPENED) out.opened = true;
    }
    return out;
  }

  async createKey(record: KeyRecord): Promise<KeyCreation> {
    // One transaction: the checks, the insert if the id and the value are free, and the end of an opened gateway.
    const made = this.db.transaction((): KeyCreation => {
      if (this.db.prepare("SELECT 1 FROM entities WHERE kind = 'key' AND id = ?").get(record.id) !== undefined) return 'id';
      if (this.db.prepare("SELECT 1 FROM entities WHERE kind = 'key' AND instr(json, ?) > 0").get(digestField(record.digest)) !== undefined) return 'value';
      this.db.prepare("INSERT INTO entities (kind, id, json) VALUES ('key', ?, ?)").run(record.id, JSON.stringify(record));
      this.db.prepare('DELETE FROM entities WHERE kind = ?').run(OPENED);
      return 'made';
    }).immediate();
    this.version = this.dataVersion();
    return made;
  }

  async restore(snapshot: EntitySnapshot): Promise<boolean> {
    const wrote = this.db.transaction((): boolean => {
      if (this.db.prepare("SELECT 1 FROM entities WHERE kind IN ('key', ?) LIMIT 1").get(OPENED) !== undefined) return false;
      const insert = this.db.prepare('INSERT INTO entities (kind, id, json) VALUES (?, ?, ?) ON CONFLICT (kind, id) DO NOTHING');
      for (const [kind, list] of [['key', snapshot.keys], ['team', snapshot.teams], ['customer', snapshot.customers]] as const) for (const r of list) insert.run(kind, r.id, JSON.stringify(r));
      return true;
    }).immediate();
    this.version = this.dataVersion();
    return wrote;
  }

  async removeKey(id: string, keepOne: boolean): Promise<KeyRemoval> {
    // IMMEDIATE: the write lock is taken before the count, so two removals cannot both count two keys.
    const out = this.db.transaction((): KeyRemoval => {
      if (this.db.prepare("SELECT 1 FROM entities WHERE kind = 'key' AND id = ?").get(id) === undefined) return 'missing';
      const { n } = this.db.prepare("SELECT COUNT(*) AS n FROM entities WHERE kind = 'key'").get() as { n: number };
      if (n === 1 && keepOne) return 'last';
      this.db.prepare("DELETE FROM entities WHERE kind = 'key' AND id = ?").run(id);
      if (n === 1) this.db.prepare("INSERT INTO entities (kind, id, json) VALUES (?, '', '{}') ON CONFLICT (kind, id) DO NOTHING").run(OPENED);
      return 'removed';
    }).immediate();
    this.version = this.dataVersion();
    return out;
  }

  async put(kind: EntityKind, record: { id: string }): Promise<void> {
    this.db.prepare('INSERT INTO entities (kind, id, json) VALUES (?, ?, ?) ON CONFLICT (kind, id) DO UPDATE SET json = excluded.json').run(kind, record.id, JSON.stringify(record));
    // This process applies its own change; only other processes' commits move data_version for it.
    this.version = this.dataVersion();
  }

  async remove(kind: EntityKind, id: string): Promise<boolean> {
    const r = this.db.prepare('DELETE FROM entities WHERE kind = ? AND id = ?').run(kind, id);
    this.version = this.dataVersion();
    return r.changes > 0;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.db.close();
  }
}
