//! The nsqlookupd HTTP addresses nsqd has learned, shared between the lookupd loop (which
//! learns them from IDENTIFY answers) and channel pre-creation (which queries them).
//!
//! Like the reference, a lookupd's address stays known while its connection is down (it is
//! what it last said about itself) and is forgotten only when the lookupd is removed from
//! `nsqlookupd_tcp_addresses`.

use parking_lot::Mutex;

/// Known lookupds in configuration order, each with its HTTP address once learned.
///
/// Invariant: holds exactly the lookupd TCP addresses the loop currently has peers for.
#[derive(Debug, Default)]
pub struct Directory {
    entries: Mutex<Vec<(String, Option<String>)>>,
}

impl Directory {
    /// Starts tracking a lookupd (no HTTP address yet). No-op if already tracked.
    pub fn add(&self, tcp_addr: &str) {
        let mut e = self.entries.lock();
        if !e.iter().any(|(a, _)| a == tcp_addr) {
            e.push((tcp_addr.to_string(), None));
        }
    }

    /// Stops tracking a lookupd.
    pub fn remove(&self, tcp_addr: &str) {
        self.entries.lock().retain(|(a, _)| a != tcp_addr);
    }

    /// Records what the lookupd at `tcp_addr` answered (`None`: no broadcast address).
    /// Ignored for a lookupd that is no longer tracked.
    pub fn set_http_address(&self, tcp_addr: &str, http: Option<String>) {
        if let Some(entry) = self.entries.lock().iter_mut().find(|(a, _)| a == tcp_addr) {
            entry.1 = http;
        }
    }

    /// The HTTP addresses to query, in configuration order.
    pub fn http_addresses(&self) -> Vec<String> {
        self.entries
            .lock()
            .iter()
            .filter_map(|(_, h)| h.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_learned_addresses_of_current_peers() {
        let d = Directory::default();
        d.add("a:4160");
        d.add("b:4160");
        d.add("a:4160");
        assert!(d.http_addresses().is_empty());
        d.set_http_address("b:4160", Some("b:4161".into()));
        d.set_http_address("a:4160", Some("a:4161".into()));
        d.set_http_address("gone:1", Some("gone:2".into()));
        assert_eq!(d.http_addresses(), vec!["a:4161", "b:4161"]);
        d.set_http_address("a:4160", None);
        assert_eq!(d.http_addresses(), vec!["b:4161"]);
        d.remove("b:4160");
        assert!(d.http_addresses().is_empty());
    }
}
