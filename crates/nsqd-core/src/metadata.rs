//! `nsqd.dat`: the list of topics and channels with their paused flags, in the reference's
//! JSON format, so a Go nsqd's data directory loads in ours and vice versa.
//!
//! Written atomically (temp file, fsync, rename) at startup after loading, after every
//! creation or deletion of a non-ephemeral topic or channel, on pause/unpause through HTTP,
//! and at shutdown. Ephemeral topics and channels are never written.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::daemon::{Daemon, Event};

/// File name inside the data directory.
pub const FILE_NAME: &str = "nsqd.dat";

#[derive(Debug, Serialize, Deserialize, Default)]
struct Metadata {
    topics: Option<Vec<TopicMeta>>,
    #[serde(default)]
    version: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct TopicMeta {
    name: String,
    #[serde(default)]
    paused: bool,
    #[serde(default)]
    channels: Option<Vec<ChannelMeta>>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ChannelMeta {
    name: String,
    #[serde(default)]
    paused: bool,
}

/// A fatal metadata problem at startup.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    /// The file exists but cannot be read.
    #[error("failed to read metadata from {0} - {1}")]
    Read(String, std::io::Error),
    /// The file is not valid metadata JSON.
    #[error("failed to parse metadata in {0} - {1}")]
    Parse(String, serde_json::Error),
}

/// Path of `nsqd.dat` in `dir`.
pub fn path(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

/// Recreates the topics and channels listed in `nsqd.dat` (missing file = fresh start).
pub fn load(daemon: &Arc<Daemon>) -> Result<(), MetadataError> {
    let p = path(&daemon.data_dir);
    let data = match std::fs::read(&p) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(MetadataError::Read(p.display().to_string(), e)),
    };
    let meta: Metadata = serde_json::from_slice(&data)
        .map_err(|e| MetadataError::Parse(p.display().to_string(), e))?;
    for t in meta.topics.unwrap_or_default() {
        if !nsq_protocol::names::is_valid_topic_name(&t.name) {
            tracing::warn!("skipping creation of invalid topic {}", t.name);
            continue;
        }
        let Some(topic) = daemon.get_or_create_topic(&t.name) else {
            continue;
        };
        if t.paused {
            topic.pause();
        }
        for c in t.channels.unwrap_or_default() {
            if !nsq_protocol::names::is_valid_channel_name(&c.name) {
                tracing::warn!("skipping creation of invalid channel {}", c.name);
                continue;
            }
            let ch = topic.get_or_create_channel(&c.name);
            if c.paused {
                ch.pause();
            }
        }
    }
    Ok(())
}

fn snapshot(daemon: &Daemon) -> Metadata {
    let mut topics = Vec::new();
    for t in daemon.topics() {
        if t.ephemeral {
            continue;
        }
        let channels: Vec<ChannelMeta> = t
            .channels()
            .iter()
            .filter(|c| !c.ephemeral)
            .map(|c| ChannelMeta {
                name: c.name.clone(),
                paused: c.is_paused(),
            })
            .collect();
        topics.push(TopicMeta {
            name: t.name.clone(),
            paused: t.is_paused(),
            channels: (!channels.is_empty()).then_some(channels),
        });
    }
    Metadata {
        topics: (!topics.is_empty()).then_some(topics),
        version: nsq_protocol::NSQ_VERSION.to_string(),
    }
}

impl Daemon {
    /// Writes `nsqd.dat` atomically with the current topics and channels.
    pub fn persist_metadata(&self) -> std::io::Result<()> {
        let _guard = self.metadata_lock.lock();
        let json = serde_json::to_vec(&snapshot(self)).map_err(std::io::Error::other)?;
        let final_path = path(&self.data_dir);
        let tmp = self
            .data_dir
            .join(format!("{FILE_NAME}.{}.tmp", rand::random::<u32>()));
        let write = || -> std::io::Result<()> {
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(&json)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &final_path)
        };
        let res = write();
        if res.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        res
    }
}

/// Persists `nsqd.dat` after every non-ephemeral topology change, until the daemon exits.
pub async fn persist_on_change(daemon: Arc<Daemon>) {
    let mut events = daemon.subscribe_events();
    while let Some(ev) = events.recv().await {
        let relevant = match &ev {
            Event::TopicCreated(t) | Event::TopicDeleted(t) => {
                !nsq_protocol::names::is_ephemeral(t)
            }
            Event::ChannelCreated { topic, channel } | Event::ChannelDeleted { topic, channel } => {
                !nsq_protocol::names::is_ephemeral(topic)
                    && !nsq_protocol::names::is_ephemeral(channel)
            }
        };
        // Coalesce a burst of events into one write.
        while events.try_recv().is_ok() {}
        if relevant && !daemon.is_exiting() {
            let d = Arc::clone(&daemon);
            let res = tokio::task::spawn_blocking(move || d.persist_metadata()).await;
            if let Ok(Err(e)) = res {
                tracing::error!("failed to persist metadata - {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_json_shape() {
        let m = Metadata {
            topics: Some(vec![TopicMeta {
                name: "t".into(),
                paused: false,
                channels: None,
            }]),
            version: "1.3.0".into(),
        };
        assert_eq!(
            serde_json::to_string(&m).expect("json"),
            r#"{"topics":[{"name":"t","paused":false,"channels":null}],"version":"1.3.0"}"#
        );
        let empty = Metadata {
            topics: None,
            version: "1.3.0".into(),
        };
        assert_eq!(
            serde_json::to_string(&empty).expect("json"),
            r#"{"topics":null,"version":"1.3.0"}"#
        );
    }
}
