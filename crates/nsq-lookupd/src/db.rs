//! The registration database: which nsqd (producer) serves which topic and channel.
//!
//! This is nsqlookupd's whole state. Its rules are what consumers and nsqadmin observe, so
//! they follow the reference exactly:
//!
//! * a [`Registration`] is a `(category, key, subkey)` triple: `(client, "", "")` holds
//!   every identified connection, `(topic, T, "")` and `(channel, T, C)` the rest;
//! * each registration maps **peer id** (the nsqd connection's remote `ip:port`) to a
//!   producer record; records of one connection share one [`PeerInfo`];
//! * registrations may exist with no producers (created over HTTP, left behind by a
//!   disconnect or an UNREGISTER) and are only deleted explicitly;
//! * adding a producer that is already present keeps the old record, so a tombstone
//!   survives a re-REGISTER;
//! * a tombstone belongs to one (registration, peer) record and hides it for the tombstone
//!   lifetime; liveness (`last_update`) belongs to the peer and is refreshed only by
//!   IDENTIFY and PING;
//! * a key or subkey of `*` in a find is a wildcard;
//! * iteration order is unspecified (the reference's is random), so callers must not rely
//!   on it.
//!
//! All operations take one reader-writer lock, so each is atomic.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::RwLock;

/// `UnixNano()` of Go's zero `time.Time`: what `/debug` reports as `tombstoned_at` for a
/// record that was never tombstoned.
pub const GO_ZERO_TIME_UNIX_NANOS: i64 = -6_795_364_578_871_345_152;

/// The kind of a registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// `("client", "", "")`: every identified nsqd connection.
    Client,
    /// `("topic", <topic>, "")`.
    Topic,
    /// `("channel", <topic>, <channel>)`.
    Channel,
}

impl Category {
    /// The category's wire name (`client`, `topic`, `channel`), used in logs and `/debug`.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Client => "client",
            Category::Topic => "topic",
            Category::Channel => "channel",
        }
    }
}

/// A registration key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Registration {
    /// What the key names.
    pub category: Category,
    /// The topic (empty for the client registration).
    pub key: String,
    /// The channel (empty unless `category` is `Channel`).
    pub subkey: String,
}

impl Registration {
    /// The client registration `("client", "", "")`.
    pub fn client() -> Registration {
        Registration {
            category: Category::Client,
            key: String::new(),
            subkey: String::new(),
        }
    }

    /// The topic registration `("topic", topic, "")`.
    pub fn topic(topic: &str) -> Registration {
        Registration {
            category: Category::Topic,
            key: topic.to_string(),
            subkey: String::new(),
        }
    }

    /// The channel registration `("channel", topic, channel)`.
    pub fn channel(topic: &str, channel: &str) -> Registration {
        Registration {
            category: Category::Channel,
            key: topic.to_string(),
            subkey: channel.to_string(),
        }
    }

    /// True iff this key matches `(category, key, subkey)` where `*` matches anything.
    pub fn is_match(&self, category: Category, key: &str, subkey: &str) -> bool {
        self.category == category
            && (key == "*" || self.key == key)
            && (subkey == "*" || self.subkey == subkey)
    }
}

/// What an nsqd told us about itself in IDENTIFY, plus its connection identity.
///
/// Invariant: `id` is the connection's remote `ip:port` and never changes; every field but
/// `last_update` is fixed after IDENTIFY.
#[derive(Debug)]
pub struct PeerInfo {
    /// Peer id: the connection's remote `ip:port`.
    pub id: String,
    /// The connection's remote `ip:port` (whatever the body claimed is overwritten).
    pub remote_address: String,
    /// The nsqd's host name.
    pub hostname: String,
    /// The address consumers should connect to.
    pub broadcast_address: String,
    /// The nsqd's TCP port.
    pub tcp_port: i64,
    /// The nsqd's HTTP port.
    pub http_port: i64,
    /// The nsqd's version string.
    pub version: String,
    /// Topology zone (post-1.3.0 experiment).
    pub topology_zone: String,
    /// Topology region (post-1.3.0 experiment).
    pub topology_region: String,
    last_update: AtomicI64,
}

impl PeerInfo {
    /// A peer whose last update is `last_update` (unix nanoseconds).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: String,
        hostname: String,
        broadcast_address: String,
        tcp_port: i64,
        http_port: i64,
        version: String,
        topology_zone: String,
        topology_region: String,
        last_update: i64,
    ) -> PeerInfo {
        PeerInfo {
            remote_address: id.clone(),
            id,
            hostname,
            broadcast_address,
            tcp_port,
            http_port,
            version,
            topology_zone,
            topology_region,
            last_update: AtomicI64::new(last_update),
        }
    }

    /// When IDENTIFY or PING last refreshed this peer (unix nanoseconds).
    pub fn last_update(&self) -> i64 {
        self.last_update.load(Ordering::Relaxed)
    }

    /// Records a refresh at `unix_nanos`; returns the previous value.
    pub fn touch(&self, unix_nanos: i64) -> i64 {
        self.last_update.swap(unix_nanos, Ordering::Relaxed)
    }
}

/// A point in time on both clocks the database uses: wall-clock unix nanoseconds (liveness,
/// as the reference stores it) and a monotonic instant (tombstone age).
#[derive(Debug, Clone, Copy)]
pub struct Moment {
    /// Wall clock, unix nanoseconds.
    pub unix_nanos: i64,
    /// Monotonic clock.
    pub instant: Instant,
}

impl Moment {
    /// The current time.
    pub fn now() -> Moment {
        Moment {
            unix_nanos: unix_nanos(SystemTime::now()),
            instant: Instant::now(),
        }
    }
}

/// `time` as unix nanoseconds, saturating.
pub fn unix_nanos(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_nanos()).map_or(i64::MIN, |n| -n),
    }
}

#[derive(Debug, Clone)]
struct Record {
    peer: Arc<PeerInfo>,
    tombstoned_at: Option<(Instant, i64)>,
}

/// A copy of one producer record as found in a registration.
#[derive(Debug, Clone)]
pub struct Producer {
    /// The shared peer.
    pub peer: Arc<PeerInfo>,
    /// When this record was last tombstoned (monotonic, unix nanoseconds), if ever.
    pub tombstoned_at: Option<(Instant, i64)>,
}

impl Producer {
    /// True iff the record was tombstoned less than `lifetime` before `now`.
    pub fn is_tombstoned(&self, lifetime: Duration, now: Instant) -> bool {
        match self.tombstoned_at {
            Some((at, _)) => now.saturating_duration_since(at) < lifetime,
            None => false,
        }
    }

    /// True iff the record passes the reference's active filter: refreshed within
    /// `inactive_timeout` and not currently tombstoned (with `tombstone_lifetime`; a zero
    /// lifetime disables the tombstone check).
    pub fn is_active(
        &self,
        inactive_timeout: Duration,
        tombstone_lifetime: Duration,
        now: Moment,
    ) -> bool {
        let age = now.unix_nanos.saturating_sub(self.peer.last_update());
        let limit = i64::try_from(inactive_timeout.as_nanos()).unwrap_or(i64::MAX);
        age <= limit && !self.is_tombstoned(tombstone_lifetime, now.instant)
    }

    /// `UnixNano()` of the tombstone time, or of Go's zero time when never tombstoned.
    pub fn tombstoned_at_unix_nanos(&self) -> i64 {
        self.tombstoned_at
            .map_or(GO_ZERO_TIME_UNIX_NANOS, |(_, nanos)| nanos)
    }

    fn from_record(r: &Record) -> Producer {
        Producer {
            peer: r.peer.clone(),
            tombstoned_at: r.tombstoned_at,
        }
    }
}

type ProducerMap = HashMap<String, Record>;

/// The registration database. Cheap to share behind an `Arc`; every method is atomic.
#[derive(Debug, Default)]
pub struct RegistrationDb {
    map: RwLock<HashMap<Registration, ProducerMap>>,
}

impl RegistrationDb {
    /// An empty database.
    pub fn new() -> RegistrationDb {
        RegistrationDb::default()
    }

    /// Creates `key` with no producers if it is absent.
    pub fn add_registration(&self, key: &Registration) {
        self.map.write().entry(key.clone()).or_default();
    }

    /// Adds `peer` under `key` (creating the key). Returns true iff the peer was not already
    /// there; an existing record, tombstone included, is kept.
    pub fn add_producer(&self, key: &Registration, peer: &Arc<PeerInfo>) -> bool {
        let mut map = self.map.write();
        let producers = map.entry(key.clone()).or_default();
        if producers.contains_key(&peer.id) {
            return false;
        }
        producers.insert(
            peer.id.clone(),
            Record {
                peer: peer.clone(),
                tombstoned_at: None,
            },
        );
        true
    }

    /// Removes peer `id` from `key`. Returns (whether it was there, producers left). The
    /// key itself is never deleted; an absent key gives `(false, 0)`.
    pub fn remove_producer(&self, key: &Registration, id: &str) -> (bool, usize) {
        let mut map = self.map.write();
        match map.get_mut(key) {
            Some(producers) => {
                let removed = producers.remove(id).is_some();
                (removed, producers.len())
            }
            None => (false, 0),
        }
    }

    /// Deletes `key` and all of its producer records.
    pub fn remove_registration(&self, key: &Registration) {
        self.map.write().remove(key);
    }

    /// Every existing key matching `(category, key, subkey)`, `*` being a wildcard for key
    /// or subkey.
    pub fn find_registrations(
        &self,
        category: Category,
        key: &str,
        subkey: &str,
    ) -> Vec<Registration> {
        let map = self.map.read();
        if key != "*" && subkey != "*" {
            let k = Registration {
                category,
                key: key.to_string(),
                subkey: subkey.to_string(),
            };
            return if map.contains_key(&k) {
                vec![k]
            } else {
                Vec::new()
            };
        }
        map.keys()
            .filter(|k| k.is_match(category, key, subkey))
            .cloned()
            .collect()
    }

    /// The producer records of every matching key, at most one per peer id.
    pub fn find_producers(&self, category: Category, key: &str, subkey: &str) -> Vec<Producer> {
        let map = self.map.read();
        if key != "*" && subkey != "*" {
            let k = Registration {
                category,
                key: key.to_string(),
                subkey: subkey.to_string(),
            };
            return map
                .get(&k)
                .map(|ps| ps.values().map(Producer::from_record).collect())
                .unwrap_or_default();
        }
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for (k, producers) in map.iter() {
            if !k.is_match(category, key, subkey) {
                continue;
            }
            for (id, r) in producers {
                if seen.insert(id.clone()) {
                    out.push(Producer::from_record(r));
                }
            }
        }
        out
    }

    /// Every key that contains peer `id`.
    pub fn lookup_registrations(&self, id: &str) -> Vec<Registration> {
        self.map
            .read()
            .iter()
            .filter(|(_, ps)| ps.contains_key(id))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Tombstones, at `now`, the records of topic `topic` whose peer's
    /// `<broadcast_address>:<http_port>` equals `node` (no IPv6 brackets). With `topic` = `*`
    /// only the first record met per peer is considered, as the reference's deduplicating
    /// find does. Returns how many records were tombstoned.
    pub fn tombstone(&self, topic: &str, node: &str, now: Moment) -> usize {
        let mut map = self.map.write();
        let mut seen = HashSet::new();
        let mut count = 0;
        for (k, producers) in map.iter_mut() {
            if !k.is_match(Category::Topic, topic, "") {
                continue;
            }
            for (id, r) in producers.iter_mut() {
                if !seen.insert(id.clone()) {
                    continue;
                }
                let this_node = format!("{}:{}", r.peer.broadcast_address, r.peer.http_port);
                if this_node == node {
                    r.tombstoned_at = Some((now.instant, now.unix_nanos));
                    count += 1;
                }
            }
        }
        count
    }

    /// Every registration that has producers, with copies of its records (for `/debug`).
    pub fn dump(&self) -> Vec<(Registration, Vec<Producer>)> {
        self.map
            .read()
            .iter()
            .filter(|(_, ps)| !ps.is_empty())
            .map(|(k, ps)| (k.clone(), ps.values().map(Producer::from_record).collect()))
            .collect()
    }
}

/// The keys of `regs` (topic names), in order.
pub fn keys(regs: &[Registration]) -> Vec<String> {
    regs.iter().map(|r| r.key.clone()).collect()
}

/// The subkeys of `regs` (channel names), in order.
pub fn subkeys(regs: &[Registration]) -> Vec<String> {
    regs.iter().map(|r| r.subkey.clone()).collect()
}

#[cfg(test)]
#[path = "db_tests.rs"]
mod tests;
