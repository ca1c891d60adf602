use super::*;

fn peer(id: &str, bcast: &str, http_port: i64, last_update: i64) -> Arc<PeerInfo> {
    Arc::new(PeerInfo::new(
        id.to_string(),
        "host".into(),
        bcast.into(),
        4150,
        http_port,
        "1.3.0".into(),
        String::new(),
        String::new(),
        last_update,
    ))
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn ids(ps: &[Producer]) -> Vec<String> {
    sorted(ps.iter().map(|p| p.peer.id.clone()).collect())
}

#[test]
fn add_find_remove() {
    let db = RegistrationDb::new();
    let now = Moment::now();
    let p1 = peer("1", "b", 1, now.unix_nanos);
    let p2 = peer("2", "b", 2, now.unix_nanos);
    let p3 = peer("3", "b", 3, now.unix_nanos);

    assert!(db.add_producer(&Registration::channel("a", "b"), &p1));
    assert!(!db.add_producer(&Registration::channel("a", "b"), &p1));
    assert!(db.add_producer(&Registration::channel("a", "c"), &p2));
    assert!(db.add_producer(&Registration::topic("a"), &p1));
    assert!(db.add_producer(&Registration::topic("a"), &p2));
    db.add_registration(&Registration::topic("empty"));

    // exact and wildcard finds
    assert_eq!(db.find_registrations(Category::Channel, "a", "b").len(), 1);
    assert_eq!(db.find_registrations(Category::Channel, "a", "x").len(), 0);
    assert_eq!(
        sorted(subkeys(&db.find_registrations(Category::Channel, "a", "*"))),
        ["b", "c"]
    );
    assert_eq!(
        sorted(keys(&db.find_registrations(Category::Topic, "*", ""))),
        ["a", "empty"]
    );
    assert_eq!(db.find_registrations(Category::Channel, "*", "*").len(), 2);
    assert_eq!(
        ids(&db.find_producers(Category::Channel, "a", "*")),
        ["1", "2"]
    );
    assert_eq!(
        ids(&db.find_producers(Category::Channel, "*", "*")),
        ["1", "2"]
    );
    assert_eq!(
        ids(&db.find_producers(Category::Topic, "a", "")),
        ["1", "2"]
    );
    assert!(db.find_producers(Category::Topic, "empty", "").is_empty());
    assert!(db.find_producers(Category::Topic, "nope", "").is_empty());
    assert_eq!(db.lookup_registrations("1").len(), 2);
    assert_eq!(db.lookup_registrations("3").len(), 0);

    // removal keeps keys
    assert_eq!(
        db.remove_producer(&Registration::channel("a", "b"), "1"),
        (true, 0)
    );
    assert_eq!(
        db.remove_producer(&Registration::channel("a", "b"), "1"),
        (false, 0)
    );
    assert_eq!(
        db.remove_producer(&Registration::channel("x", "y"), "1"),
        (false, 0)
    );
    assert_eq!(db.find_registrations(Category::Channel, "a", "b").len(), 1);
    assert_eq!(
        db.remove_producer(&Registration::topic("a"), "2"),
        (true, 1)
    );
    db.remove_registration(&Registration::channel("a", "b"));
    assert_eq!(db.find_registrations(Category::Channel, "a", "b").len(), 0);

    // unknown peer
    assert!(db.add_producer(&Registration::topic("a"), &p3));
    assert_eq!(
        ids(&db.find_producers(Category::Topic, "a", "")),
        ["1", "3"]
    );
}

#[test]
fn active_filter_and_tombstones() {
    let db = RegistrationDb::new();
    let now = Moment::now();
    let fresh = peer("1", "n1", 4151, now.unix_nanos);
    let stale = peer("2", "n2", 4151, now.unix_nanos - 31_000_000_000);
    db.add_producer(&Registration::topic("t"), &fresh);
    db.add_producer(&Registration::topic("t"), &stale);
    db.add_producer(&Registration::topic("u"), &fresh);

    let secs = Duration::from_secs;
    let active = |topic: &str, at: Moment| {
        let ps = db.find_producers(Category::Topic, topic, "");
        let v: Vec<Producer> = ps
            .into_iter()
            .filter(|p| p.is_active(secs(30), secs(45), at))
            .collect();
        ids(&v)
    };
    assert_eq!(active("t", now), ["1"]);

    // tombstone one (topic, peer) record only
    assert_eq!(db.tombstone("t", "n1:4151", now), 1);
    assert_eq!(db.tombstone("t", "nobody:1", now), 0);
    assert!(active("t", now).is_empty());
    assert_eq!(active("u", now), ["1"]);
    let tp = &db
        .find_producers(Category::Topic, "t", "")
        .into_iter()
        .find(|p| p.peer.id == "1")
        .unwrap();
    assert!(tp.is_tombstoned(secs(45), now.instant));
    assert_ne!(tp.tombstoned_at_unix_nanos(), GO_ZERO_TIME_UNIX_NANOS);

    // the tombstone survives a re-register and expires lazily
    assert!(!db.add_producer(&Registration::topic("t"), &fresh));
    let later = Moment {
        unix_nanos: now.unix_nanos,
        instant: now.instant + secs(46),
    };
    assert_eq!(active("t", later), ["1"]);
    // a zero lifetime disables the tombstone check (used by /nodes)
    assert!(tp.is_active(secs(30), Duration::ZERO, now));

    // removing and re-adding clears it
    db.remove_producer(&Registration::topic("t"), "1");
    db.add_producer(&Registration::topic("t"), &fresh);
    assert_eq!(active("t", now), ["1"]);

    // liveness follows the shared peer info
    let later = Moment {
        unix_nanos: now.unix_nanos + 31_000_000_000,
        instant: now.instant,
    };
    assert!(active("t", later).is_empty());
    fresh.touch(later.unix_nanos);
    assert_eq!(active("t", later), ["1"]);
}

#[test]
fn wildcard_tombstone_hits_one_record_per_peer() {
    let db = RegistrationDb::new();
    let now = Moment::now();
    let p = peer("1", "n1", 4151, now.unix_nanos);
    db.add_producer(&Registration::topic("a"), &p);
    db.add_producer(&Registration::topic("b"), &p);
    assert_eq!(db.tombstone("*", "n1:4151", now), 1);
}

#[test]
fn dump_skips_empty_registrations() {
    let db = RegistrationDb::new();
    db.add_registration(&Registration::topic("empty"));
    assert!(db.dump().is_empty());
    let p = peer("1", "n1", 4151, 0);
    db.add_producer(&Registration::client(), &p);
    let d = db.dump();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].0, Registration::client());
    assert_eq!(
        d[0].1[0].tombstoned_at_unix_nanos(),
        GO_ZERO_TIME_UNIX_NANOS
    );
}
