//! SQLite backend, laid out like Spin's default store
//! (`spin_key_value(store, key, value)`), so the same file works under Spin.
//!
//! Writes go through one writer thread per database file, which gathers
//! every write waiting at that moment into a single `BEGIN IMMEDIATE`
//! transaction and one commit (group commit): each write is on disk
//! (WAL, `synchronous = FULL`) before it is acknowledged, yet concurrent
//! writers share the fsync. `BEGIN IMMEDIATE` plus a long busy timeout makes
//! other processes on the same file wait their turn instead of failing with
//! "database is locked"; increments and compare-and-swap read and write
//! inside that transaction, so they are atomic across processes.
//! Counters are 8-byte little-endian integers, as Spin stores them.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use tokio::sync::oneshot;

use super::{Backend, CasOutcome, Entries, KvError, KvResult};

/// Most writes folded into one transaction.
const MAX_BATCH: usize = 1024;
/// How long a transaction start waits for another process's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// One write waiting for the writer thread.
enum WriteOp {
    Set(String, String, Vec<u8>),
    Delete(String, String),
    Increment(String, String, i64),
    Cas(String, String, Option<Vec<u8>>, Vec<u8>),
    SetMany(String, Vec<(String, Vec<u8>)>),
    DeleteMany(String, Vec<String>),
}

/// What a write produced.
enum WriteResult {
    Done,
    Counter(i64),
    Cas(CasOutcome),
}

struct WriteJob {
    op: WriteOp,
    reply: oneshot::Sender<KvResult<WriteResult>>,
}

/// A SQLite database file shared by every store label that uses it.
pub struct SqliteDb {
    writer: mpsc::Sender<WriteJob>,
    readers: Mutex<Vec<Connection>>,
    path: Option<PathBuf>,
    memory_uri: String,
}

impl SqliteDb {
    /// Opens (creating if needed) the database at `path`; `None` is an
    /// in-memory database private to this process.
    pub fn open(path: Option<&Path>) -> anyhow::Result<Arc<Self>> {
        if let Some(dir) = path.and_then(Path::parent) {
            std::fs::create_dir_all(dir)?;
        }
        static NEXT_MEMORY_DB: AtomicU64 = AtomicU64::new(0);
        let memory_uri = format!(
            "file:slipway-kv-{}-{}?mode=memory&cache=shared",
            std::process::id(),
            NEXT_MEMORY_DB.fetch_add(1, Ordering::Relaxed)
        );
        let (tx, rx) = mpsc::channel();
        let db = SqliteDb {
            writer: tx,
            readers: Mutex::new(Vec::new()),
            path: path.map(Path::to_path_buf),
            memory_uri,
        };
        let conn = db.connect()?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS spin_key_value (
                store TEXT NOT NULL,
                key TEXT NOT NULL,
                value BLOB NOT NULL,
                PRIMARY KEY (store, key)
            );",
        )?;
        std::thread::Builder::new()
            .name("kv-sqlite-writer".into())
            .spawn(move || writer_loop(conn, rx))?;
        Ok(Arc::new(db))
    }

    fn connect(&self) -> rusqlite::Result<Connection> {
        let conn = match &self.path {
            Some(p) => Connection::open(p)?,
            None => Connection::open_with_flags(
                &self.memory_uri,
                OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_CREATE
                    | OpenFlags::SQLITE_OPEN_URI,
            )?,
        };
        conn.busy_timeout(BUSY_TIMEOUT)?;
        if self.path.is_some() {
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "FULL")?;
        }
        Ok(conn)
    }

    async fn write(&self, op: WriteOp) -> KvResult<WriteResult> {
        let (reply, rx) = oneshot::channel();
        self.writer
            .send(WriteJob { op, reply })
            .map_err(|_| KvError("key-value writer has stopped".into()))?;
        rx.await
            .map_err(|_| KvError("key-value writer has stopped".into()))?
    }

    async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> KvResult<T> {
        let db = self.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = db.readers.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let conn = match pooled {
                Some(c) => c,
                None => db.connect().map_err(KvError::from_display)?,
            };
            let result = f(&conn).map_err(KvError::from_display);
            db.readers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(conn);
            result
        })
        .await
        .map_err(KvError::from_display)?
    }
}

fn writer_loop(conn: Connection, rx: mpsc::Receiver<WriteJob>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        match run_batch(&conn, &batch) {
            Ok(results) => {
                for (job, result) in batch.into_iter().zip(results) {
                    let _ = job.reply.send(result);
                }
            }
            Err(e) => {
                let error = KvError(format!("key-value commit failed: {e}"));
                for job in batch {
                    let _ = job.reply.send(Err(error.clone()));
                }
            }
        }
    }
}

/// Runs every op in one immediate transaction. A failing op rolls back to
/// its own savepoint and reports its error; the rest commit together.
fn run_batch(
    conn: &Connection,
    batch: &[WriteJob],
) -> rusqlite::Result<Vec<KvResult<WriteResult>>> {
    begin_immediate(conn)?;
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        conn.execute_batch("SAVEPOINT op")?;
        match apply(conn, &job.op) {
            Ok(r) => {
                conn.execute_batch("RELEASE op")?;
                results.push(Ok(r));
            }
            Err(e) => {
                conn.execute_batch("ROLLBACK TO op; RELEASE op")?;
                results.push(Err(e));
            }
        }
    }
    if let Err(e) = conn.execute_batch("COMMIT") {
        let _ = conn.execute_batch("ROLLBACK");
        return Err(e);
    }
    Ok(results)
}

/// `BEGIN IMMEDIATE`, waiting out other processes' locks.
fn begin_immediate(conn: &Connection) -> rusqlite::Result<()> {
    let deadline = Instant::now() + BUSY_TIMEOUT * 2;
    loop {
        match conn.execute_batch("BEGIN IMMEDIATE") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(1));
            }
            other => return other,
        }
    }
}

fn apply(conn: &Connection, op: &WriteOp) -> KvResult<WriteResult> {
    let sql = |e: rusqlite::Error| KvError::from_display(e);
    match op {
        WriteOp::Set(store, key, value) => {
            upsert(conn, store, key, value).map_err(sql)?;
            Ok(WriteResult::Done)
        }
        WriteOp::Delete(store, key) => {
            conn.prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")
                .and_then(|mut s| s.execute(params![store, key]))
                .map_err(sql)?;
            Ok(WriteResult::Done)
        }
        WriteOp::Increment(store, key, delta) => {
            let current = select(conn, store, key).map_err(sql)?;
            let current = match current {
                None => 0,
                Some(bytes) => decode_counter(&bytes)?,
            };
            let next = current
                .checked_add(*delta)
                .ok_or_else(|| KvError(format!("counter {key:?} would overflow")))?;
            upsert(conn, store, key, &next.to_le_bytes()).map_err(sql)?;
            Ok(WriteResult::Counter(next))
        }
        WriteOp::Cas(store, key, expected, new) => {
            let current = select(conn, store, key).map_err(sql)?;
            if current == *expected {
                upsert(conn, store, key, new).map_err(sql)?;
                Ok(WriteResult::Cas(CasOutcome::Swapped))
            } else {
                Ok(WriteResult::Cas(CasOutcome::Conflict(current)))
            }
        }
        WriteOp::SetMany(store, entries) => {
            for (key, value) in entries {
                upsert(conn, store, key, value).map_err(sql)?;
            }
            Ok(WriteResult::Done)
        }
        WriteOp::DeleteMany(store, keys) => {
            for key in keys {
                conn.prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")
                    .and_then(|mut s| s.execute(params![store, key]))
                    .map_err(sql)?;
            }
            Ok(WriteResult::Done)
        }
    }
}

fn decode_counter(bytes: &[u8]) -> KvResult<i64> {
    let array: [u8; 8] = bytes
        .try_into()
        .map_err(|_| KvError("value is not a counter (expected 8 bytes)".into()))?;
    Ok(i64::from_le_bytes(array))
}

fn select(conn: &Connection, store: &str, key: &str) -> rusqlite::Result<Option<Vec<u8>>> {
    conn.prepare_cached("SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2")?
        .query_row(params![store, key], |row| row.get(0))
        .optional()
}

fn upsert(conn: &Connection, store: &str, key: &str, value: &[u8]) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
         ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![store, key, value])?;
    Ok(())
}

/// One store label inside a SQLite database.
pub struct SqliteStore {
    db: Arc<SqliteDb>,
    name: String,
}

impl SqliteStore {
    /// The store `name` (the Spin label) inside `db`.
    pub fn new(db: Arc<SqliteDb>, name: &str) -> Self {
        SqliteStore {
            db,
            name: name.to_owned(),
        }
    }
}

fn done(r: KvResult<WriteResult>) -> KvResult<()> {
    r.map(|_| ())
}

impl Backend for SqliteStore {
    fn get(&self, key: String) -> BoxFuture<'_, KvResult<Option<Vec<u8>>>> {
        let name = self.name.clone();
        Box::pin(async move { self.db.read(move |c| select(c, &name, &key)).await })
    }

    fn set(&self, key: String, value: Vec<u8>) -> BoxFuture<'_, KvResult<()>> {
        Box::pin(async move {
            done(
                self.db
                    .write(WriteOp::Set(self.name.clone(), key, value))
                    .await,
            )
        })
    }

    fn delete(&self, key: String) -> BoxFuture<'_, KvResult<()>> {
        Box::pin(async move { done(self.db.write(WriteOp::Delete(self.name.clone(), key)).await) })
    }

    fn exists(&self, key: String) -> BoxFuture<'_, KvResult<bool>> {
        Box::pin(async move { Ok(self.get(key).await?.is_some()) })
    }

    fn keys(&self) -> BoxFuture<'_, KvResult<Vec<String>>> {
        let name = self.name.clone();
        Box::pin(async move {
            self.db
                .read(move |c| {
                    let mut stmt =
                        c.prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1")?;
                    let rows = stmt.query_map([&name], |r| r.get::<_, String>(0))?;
                    rows.collect()
                })
                .await
        })
    }

    fn increment(&self, key: String, delta: i64) -> BoxFuture<'_, KvResult<i64>> {
        Box::pin(async move {
            match self
                .db
                .write(WriteOp::Increment(self.name.clone(), key, delta))
                .await?
            {
                WriteResult::Counter(n) => Ok(n),
                _ => Err(KvError("unexpected writer reply".into())),
            }
        })
    }

    fn compare_and_swap(
        &self,
        key: String,
        expected: Option<Vec<u8>>,
        new: Vec<u8>,
    ) -> BoxFuture<'_, KvResult<CasOutcome>> {
        Box::pin(async move {
            match self
                .db
                .write(WriteOp::Cas(self.name.clone(), key, expected, new))
                .await?
            {
                WriteResult::Cas(outcome) => Ok(outcome),
                _ => Err(KvError("unexpected writer reply".into())),
            }
        })
    }

    fn get_many(&self, keys: Vec<String>) -> BoxFuture<'_, KvResult<Entries>> {
        let name = self.name.clone();
        Box::pin(async move {
            self.db
                .read(move |c| {
                    keys.into_iter()
                        .map(|k| select(c, &name, &k).map(|v| (k, v)))
                        .collect()
                })
                .await
        })
    }

    fn set_many(&self, entries: Vec<(String, Vec<u8>)>) -> BoxFuture<'_, KvResult<()>> {
        Box::pin(async move {
            done(
                self.db
                    .write(WriteOp::SetMany(self.name.clone(), entries))
                    .await,
            )
        })
    }

    fn delete_many(&self, keys: Vec<String>) -> BoxFuture<'_, KvResult<()>> {
        Box::pin(async move {
            done(
                self.db
                    .write(WriteOp::DeleteMany(self.name.clone(), keys))
                    .await,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> (SqliteStore, tempdir::Dir) {
        let dir = tempdir::Dir::new();
        let db = SqliteDb::open(Some(&dir.0.join("kv.db"))).unwrap();
        (SqliteStore::new(db, "default"), dir)
    }

    mod tempdir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Self {
                let p = std::env::temp_dir().join(format!(
                    "slipway-kv-test-{}-{}",
                    std::process::id(),
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_nanos()
                ));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[tokio::test]
    async fn set_get_delete_keys() {
        let (s, _d) = store().await;
        s.set("a".into(), b"1".to_vec()).await.unwrap();
        assert_eq!(s.get("a".into()).await.unwrap(), Some(b"1".to_vec()));
        assert!(s.exists("a".into()).await.unwrap());
        assert_eq!(s.keys().await.unwrap(), ["a"]);
        s.delete("a".into()).await.unwrap();
        assert_eq!(s.get("a".into()).await.unwrap(), None);
    }

    #[tokio::test]
    async fn counters_are_8_byte_little_endian() {
        let (s, _d) = store().await;
        assert_eq!(s.increment("n".into(), 5).await.unwrap(), 5);
        assert_eq!(s.increment("n".into(), 0).await.unwrap(), 5);
        assert_eq!(
            s.get("n".into()).await.unwrap(),
            Some(5i64.to_le_bytes().to_vec())
        );
        s.set("text".into(), b"abc".to_vec()).await.unwrap();
        assert!(s.increment("text".into(), 1).await.is_err());
    }

    #[tokio::test]
    async fn cas_on_absent_key_is_create_if_absent() {
        let (s, _d) = store().await;
        assert_eq!(
            s.compare_and_swap("k".into(), None, b"x".to_vec())
                .await
                .unwrap(),
            CasOutcome::Swapped
        );
        assert_eq!(
            s.compare_and_swap("k".into(), None, b"y".to_vec())
                .await
                .unwrap(),
            CasOutcome::Conflict(Some(b"x".to_vec()))
        );
        assert_eq!(
            s.compare_and_swap("k".into(), Some(b"x".to_vec()), b"z".to_vec())
                .await
                .unwrap(),
            CasOutcome::Swapped
        );
    }

    #[tokio::test]
    async fn concurrent_increments_are_not_lost() {
        let (s, _d) = store().await;
        let s = Arc::new(s);
        let tasks: Vec<_> = (0..200)
            .map(|_| {
                let s = s.clone();
                tokio::spawn(async move { s.increment("c".into(), 1).await.unwrap() })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(s.increment("c".into(), 0).await.unwrap(), 200);
    }
}
