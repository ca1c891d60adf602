//! File names: the per-topic name template (`--filename-format` with `<TOPIC>`, `<HOST>`,
//! `<PID>` filled in once; `<DATETIME>` and `<REV>` later) and Go's path joining rules,
//! which decide where files land (`path.Join` cleans, the work-dir prefix is trimmed
//! textually).

/// Why a topic's logger cannot be created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilenameError {
    /// `<REV>` is required when names can collide.
    #[error("missing <REV> in --filename-format when gzip, rotation, or work dir enabled")]
    MissingRev,
    /// The host name could not be read.
    #[error("{0}")]
    Hostname(String),
}

/// What the template depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameSettings {
    /// `--filename-format`.
    pub filename_format: String,
    /// `--host-identifier` (may contain `<SHORT_HOST>`, `<HOSTNAME>`).
    pub host_identifier: String,
    /// `--gzip`.
    pub gzip: bool,
    /// `--rotate-size > 0`.
    pub rotate_size: bool,
    /// `--rotate-interval > 0`.
    pub rotate_interval: bool,
    /// `--work-dir != --output-dir`.
    pub work_dir: bool,
}

/// The reference's `computeFilenameFormat` with an explicit host name and pid.
pub fn compute_filename_format(
    s: &NameSettings,
    topic: &str,
    hostname: &str,
    pid: u32,
) -> Result<String, FilenameError> {
    let short = hostname.split('.').next().unwrap_or_default();
    let identifier = if s.host_identifier.is_empty() {
        short.to_string()
    } else {
        s.host_identifier
            .replace("<SHORT_HOST>", short)
            .replace("<HOSTNAME>", hostname)
    };
    let mut cff = s.filename_format.clone();
    if s.gzip || s.rotate_size || s.rotate_interval || s.work_dir {
        if !cff.contains("<REV>") {
            return Err(FilenameError::MissingRev);
        }
    } else {
        cff = cff.replace("<REV>", "");
    }
    cff = cff.replace("<TOPIC>", topic);
    cff = cff.replace("<HOST>", &identifier);
    cff = cff.replace("<PID>", &pid.to_string());
    if s.gzip && !cff.ends_with(".gz") {
        cff.push_str(".gz");
    }
    Ok(cff)
}

/// [`compute_filename_format`] with this machine's host name and this process's pid.
pub fn filename_format_for(s: &NameSettings, topic: &str) -> Result<String, FilenameError> {
    let host = hostname::get()
        .map_err(|e| FilenameError::Hostname(e.to_string()))?
        .to_string_lossy()
        .into_owned();
    compute_filename_format(s, topic, &host, std::process::id())
}

/// `<REV>` as the reference renders revision `rev`: `-%06d`.
pub fn rev_text(rev: u64) -> String {
    format!("-{rev:06}")
}

/// Go's `path.Clean`.
pub fn clean(path: &str) -> String {
    if path.is_empty() {
        return ".".to_string();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let body = parts.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".to_string(),
        (false, false) => body,
    }
}

/// Go's `path.Join` / `filepath.Join` on Unix: non-empty elements joined by `/`, cleaned;
/// `""` if every element is empty.
pub fn join(elems: &[&str]) -> String {
    let nonempty: Vec<&str> = elems.iter().copied().filter(|e| !e.is_empty()).collect();
    if nonempty.is_empty() {
        return String::new();
    }
    clean(&nonempty.join("/"))
}

/// Go's `filepath.Split`: everything up to and including the last `/`, and the rest.
pub fn split(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(i) => (&path[..=i], &path[i + 1..]),
        None => ("", path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(format: &str) -> NameSettings {
        NameSettings {
            filename_format: format.to_string(),
            host_identifier: String::new(),
            gzip: false,
            rotate_size: false,
            rotate_interval: false,
            work_dir: false,
        }
    }

    #[test]
    fn plain_mode_drops_rev() {
        let s = settings("<TOPIC>.<HOST><REV>.<DATETIME>.log");
        assert_eq!(
            compute_filename_format(&s, "t4", "vm.example.com", 7).expect("ok"),
            "t4.vm.<DATETIME>.log"
        );
    }

    #[test]
    fn gzip_requires_rev_and_appends_gz() {
        let mut s = settings("<TOPIC>.<HOST><REV>.<DATETIME>.log");
        s.gzip = true;
        s.host_identifier = "<SHORT_HOST>-x".to_string();
        assert_eq!(
            compute_filename_format(&s, "t5", "vm.example.com", 7).expect("ok"),
            "t5.vm-x<REV>.<DATETIME>.log.gz"
        );
        s.filename_format = "<TOPIC>.<PID>.log.gz".to_string();
        assert_eq!(
            compute_filename_format(&s, "t", "h", 7),
            Err(FilenameError::MissingRev)
        );
        s.filename_format = "<TOPIC><REV>.<PID>.<HOSTNAME>.log.gz".to_string();
        assert_eq!(
            compute_filename_format(&s, "t", "h", 7).expect("ok"),
            "t<REV>.7.<HOSTNAME>.log.gz"
        );
        assert_eq!(
            FilenameError::MissingRev.to_string(),
            "missing <REV> in --filename-format when gzip, rotation, or work dir enabled"
        );
    }

    #[test]
    fn go_paths() {
        assert_eq!(join(&["/tmp", "a.log"]), "/tmp/a.log");
        assert_eq!(join(&["/tmp/", "x/../a.log"]), "/tmp/a.log");
        assert_eq!(join(&["./work", "a"]), "work/a");
        assert_eq!(join(&["", ""]), "");
        assert_eq!(clean("a/../.."), "..");
        assert_eq!(clean("/../a"), "/a");
        assert_eq!(split("/tmp/x/a.log"), ("/tmp/x/", "a.log"));
        assert_eq!(split("a.log"), ("", "a.log"));
        assert_eq!(rev_text(0), "-000000");
    }
}
