//! Redis / Valkey backend (`type = "redis"` in the runtime config).
//!
//! Keys are stored unprefixed, as Spin's Redis store does; counters use
//! `INCRBY` (ASCII decimal values), and compare-and-swap is one Lua script,
//! which Redis runs atomically.

use futures::future::BoxFuture;
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use tokio::sync::OnceCell;

use super::{Backend, CasOutcome, Entries, KvError, KvResult};

/// Sets KEYS[1] to ARGV[2] if it holds ARGV[1] (or, when ARGV[3] is "absent",
/// if it is not set). Returns {1} on success, {0, current} otherwise.
const CAS_SCRIPT: &str = r#"
local current = redis.call('GET', KEYS[1])
local matches
if ARGV[3] == 'absent' then
  matches = (current == false)
else
  matches = (current == ARGV[1])
end
if matches then
  redis.call('SET', KEYS[1], ARGV[2])
  return {1}
end
if current == false then
  return {0}
end
return {0, current}
"#;

/// A Redis database reached through one multiplexed connection.
pub struct RedisStore {
    client: redis::Client,
    connection: OnceCell<MultiplexedConnection>,
    script: redis::Script,
}

impl RedisStore {
    /// A store for `url` (`redis://host:port[/db]`); connects on first use.
    pub fn new(url: &str) -> anyhow::Result<Self> {
        Ok(RedisStore {
            client: redis::Client::open(url)?,
            connection: OnceCell::new(),
            script: redis::Script::new(CAS_SCRIPT),
        })
    }

    async fn conn(&self) -> KvResult<MultiplexedConnection> {
        self.connection
            .get_or_try_init(|| async {
                self.client
                    .get_multiplexed_async_connection()
                    .await
                    .map_err(|e| KvError(format!("cannot connect to redis: {e}")))
            })
            .await
            .cloned()
    }
}

fn err(e: redis::RedisError) -> KvError {
    KvError(format!("redis: {e}"))
}

impl Backend for RedisStore {
    fn get(&self, key: String) -> BoxFuture<'_, KvResult<Option<Vec<u8>>>> {
        Box::pin(async move { self.conn().await?.get(key).await.map_err(err) })
    }

    fn set(&self, key: String, value: Vec<u8>) -> BoxFuture<'_, KvResult<()>> {
        Box::pin(async move { self.conn().await?.set(key, value).await.map_err(err) })
    }

    fn delete(&self, key: String) -> BoxFuture<'_, KvResult<()>> {
        Box::pin(async move { self.conn().await?.del(key).await.map_err(err) })
    }

    fn exists(&self, key: String) -> BoxFuture<'_, KvResult<bool>> {
        Box::pin(async move { self.conn().await?.exists(key).await.map_err(err) })
    }

    fn keys(&self) -> BoxFuture<'_, KvResult<Vec<String>>> {
        Box::pin(async move {
            let mut conn = self.conn().await?;
            let mut cursor: u64 = 0;
            let mut keys = Vec::new();
            loop {
                let (next, page): (u64, Vec<String>) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("COUNT")
                    .arg(1000)
                    .query_async(&mut conn)
                    .await
                    .map_err(err)?;
                keys.extend(page);
                if next == 0 {
                    return Ok(keys);
                }
                cursor = next;
            }
        })
    }

    fn increment(&self, key: String, delta: i64) -> BoxFuture<'_, KvResult<i64>> {
        Box::pin(async move { self.conn().await?.incr(key, delta).await.map_err(err) })
    }

    fn compare_and_swap(
        &self,
        key: String,
        expected: Option<Vec<u8>>,
        new: Vec<u8>,
    ) -> BoxFuture<'_, KvResult<CasOutcome>> {
        Box::pin(async move {
            let mut conn = self.conn().await?;
            let absent = expected.is_none();
            let reply: Vec<redis::Value> = self
                .script
                .key(key)
                .arg(expected.unwrap_or_default())
                .arg(new)
                .arg(if absent { "absent" } else { "present" })
                .invoke_async(&mut conn)
                .await
                .map_err(err)?;
            match reply.as_slice() {
                [redis::Value::Int(1)] => Ok(CasOutcome::Swapped),
                [redis::Value::Int(0)] => Ok(CasOutcome::Conflict(None)),
                [redis::Value::Int(0), redis::Value::BulkString(current)] => {
                    Ok(CasOutcome::Conflict(Some(current.clone())))
                }
                other => Err(KvError(format!(
                    "unexpected CAS reply from redis: {other:?}"
                ))),
            }
        })
    }

    fn get_many(&self, keys: Vec<String>) -> BoxFuture<'_, KvResult<Entries>> {
        Box::pin(async move {
            if keys.is_empty() {
                return Ok(Vec::new());
            }
            let values: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
                .arg(&keys)
                .query_async(&mut self.conn().await?)
                .await
                .map_err(err)?;
            Ok(keys.into_iter().zip(values).collect())
        })
    }

    fn set_many(&self, entries: Vec<(String, Vec<u8>)>) -> BoxFuture<'_, KvResult<()>> {
        Box::pin(async move {
            if entries.is_empty() {
                return Ok(());
            }
            self.conn().await?.mset(&entries).await.map_err(err)
        })
    }

    fn delete_many(&self, keys: Vec<String>) -> BoxFuture<'_, KvResult<()>> {
        Box::pin(async move {
            if keys.is_empty() {
                return Ok(());
            }
            self.conn().await?.del(keys).await.map_err(err)
        })
    }
}
