// The IndexedDB outbox: every chunk, frame and response is stored here before it is sent and
// deleted only when the server acks it. The session (id, next indexes, questions) lives in the
// same database, so a reload or a crashed tab resumes where it was.

const DB_NAME = 'mediaspool-recorder';
const ITEMS = 'items';
const META = 'meta';

function req(r) {
  return new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error('transaction aborted'));
  });
}

export class Outbox {
  static async open() {
    const open = indexedDB.open(DB_NAME, 1);
    open.onupgradeneeded = () => {
      const db = open.result;
      db.createObjectStore(ITEMS, { keyPath: 'key' });
      db.createObjectStore(META);
    };
    return new Outbox(await req(open));
  }

  constructor(db) { this.db = db; }

  /** The saved session state, or null. */
  async loadSession() {
    const tx = this.db.transaction(META, 'readonly');
    return (await req(tx.objectStore(META).get('session'))) || null;
  }

  async saveSession(session) {
    const tx = this.db.transaction(META, 'readwrite', { durability: 'strict' });
    tx.objectStore(META).put(session, 'session');
    await done(tx);
  }

  /** Stores `item` and the session (its next indexes) in ONE transaction: both or neither. */
  async put(item, session) {
    const tx = this.db.transaction([ITEMS, META], 'readwrite', { durability: 'strict' });
    tx.objectStore(ITEMS).put(item);
    if (session) tx.objectStore(META).put(session, 'session');
    await done(tx);
  }

  async delete(key) {
    const tx = this.db.transaction(ITEMS, 'readwrite');
    tx.objectStore(ITEMS).delete(key);
    await done(tx);
  }

  /** Every stored item of session `sid`, in key order (kind, then index). */
  async items(sid) {
    const tx = this.db.transaction(ITEMS, 'readonly');
    const range = IDBKeyRange.bound(`${sid}:`, `${sid}:\uffff`);
    return req(tx.objectStore(ITEMS).getAll(range));
  }

  /** Removes every item of other sessions and the session record (after session_end_ack). */
  async clear() {
    const tx = this.db.transaction([ITEMS, META], 'readwrite');
    tx.objectStore(ITEMS).clear();
    tx.objectStore(META).delete('session');
    await done(tx);
  }
}
