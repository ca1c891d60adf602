//! One topic's consumer and the file it writes (the reference's `FileLogger`).
//!
//! Messages are written as `body\n` and FIN'd only after a successful sync (at-least-once).
//! A sync happens when `max-in-flight` messages are pending, on the sync ticker, when the
//! consumer is starved, on rotation, on SIGHUP and at shutdown. Files rotate when the
//! `<DATETIME>` part of the name changes, after `--rotate-interval`, or past
//! `--rotate-size` bytes; with a work dir, closed files are moved to the output dir
//! without ever overwriting an existing file (hard link + unlink, bumping `<REV>`).
//!
//! Deliberate difference: after moving a finished file out of the work dir the reference
//! keeps the closed file as "current", so the next message after a SIGHUP (or an empty
//! rotation with `--skip-empty-files`) fails with a fatal write error. Here the next
//! message opens a new file, as SIGHUP is documented to do.

use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::sync::Arc;
use std::time::Instant;

use nsq_cli::LogLevel;
use tokio::sync::{mpsc, watch};

use super::filename::{filename_format_for, join, rev_text, split, NameSettings};
use super::gotime::{strftime, LocalTime};
use super::logf::Logf;
use super::output::{CloseError, Output};
use super::Options;
use crate::gonsq::{Config, Consumer, Delivery, Handler};

/// A topic's logger, ready to run its [`FileLogger::router`].
pub struct FileLogger {
    log: Logf,
    opts: Arc<Options>,
    topic: String,
    consumer: Consumer,
    rx: mpsc::Receiver<Delivery>,
    filename_format: String,
    out: Option<Output>,
    filename: String,
    open_time: Instant,
    filesize: i64,
    rev: u64,
}

fn make_dir_for(path: &str) -> io::Result<()> {
    let (dir, _) = split(path);
    if dir.is_empty() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o770)
        .create(dir)
}

fn exclusive_rename(src: &str, dst: &str) -> io::Result<()> {
    std::fs::hard_link(src, dst)?;
    std::fs::remove_file(src)
}

impl FileLogger {
    /// The reference's `NewFileLogger`: computes the name template, creates the consumer
    /// and connects it. Errors are reported by the caller as
    /// `couldn't create logger for new topic <t>: <err>`.
    pub async fn new(
        log: Logf,
        opts: Arc<Options>,
        topic: &str,
        cfg: &Config,
    ) -> Result<FileLogger, String> {
        let names = NameSettings {
            filename_format: opts.filename_format.clone(),
            host_identifier: opts.host_identifier.clone(),
            gzip: opts.gzip,
            rotate_size: opts.rotate_size > 0,
            rotate_interval: !opts.rotate_interval.is_zero(),
            work_dir: opts.work_dir != opts.output_dir,
        };
        let filename_format = filename_format_for(&names, topic).map_err(|e| e.to_string())?;
        let consumer =
            Consumer::new(topic, &opts.channel, cfg.clone()).map_err(|e| e.to_string())?;
        let (tx, rx) = mpsc::channel::<Delivery>(1);
        let handler: Handler = Arc::new(move |d: Delivery| {
            let tx = tx.clone();
            Box::pin(async move {
                d.disable_auto_response();
                if tx.send(d.clone()).await.is_err() {
                    d.requeue_without_backoff(None);
                }
                Ok(())
            })
        });
        consumer.add_handler(handler);
        consumer
            .connect_to_nsqds(&opts.nsqd_tcp_addrs)
            .await
            .map_err(|e| e.to_string())?;
        consumer
            .connect_to_lookupds(&opts.lookupd_http_addrs)
            .await
            .map_err(|e| e.to_string())?;
        Ok(FileLogger {
            log,
            opts,
            topic: topic.to_string(),
            consumer,
            rx,
            filename_format,
            out: None,
            filename: String::new(),
            open_time: Instant::now(),
            filesize: 0,
            rev: 0,
        })
    }

    fn tc(&self) -> String {
        format!("[{}/{}]", self.topic, self.opts.channel)
    }

    /// Runs until the consumer stopped (after `term` was set, or on its own).
    pub async fn router(mut self, mut term: watch::Receiver<bool>, mut hup: mpsc::Receiver<()>) {
        let max = usize::try_from(self.opts.max_in_flight).unwrap_or(0);
        let mut pending: Vec<Delivery> = Vec::with_capacity(max);
        let period = self.opts.sync_interval;
        let mut ticker = (!period.is_zero()).then(|| {
            let mut t = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            t
        });
        let mut terminating = false;
        let mut rx_open = true;
        loop {
            let mut sync = terminating;
            let mut close_file = false;
            let mut exit = false;
            let stopped = self.consumer.clone();
            tokio::select! {
                _ = stopped.wait_stopped() => {
                    sync = true;
                    close_file = true;
                    exit = true;
                }
                _ = term.wait_for(|t| *t), if !terminating => {
                    terminating = true;
                    ticker = None;
                    self.consumer.stop();
                    sync = true;
                }
                Some(()) = hup.recv() => {
                    sync = true;
                    close_file = true;
                }
                _ = async { match ticker.as_mut() { Some(t) => { t.tick().await; } None => std::future::pending::<()>().await } } => {
                    if self.needs_rotation() {
                        if self.opts.skip_empty_files {
                            close_file = true;
                        } else {
                            self.update_file();
                        }
                    }
                    sync = true;
                }
                m = self.rx.recv(), if rx_open => match m {
                    None => rx_open = false,
                    Some(m) => {
                        if self.needs_rotation() {
                            self.update_file();
                            sync = true;
                        }
                        let body = m.body().clone();
                        if let Err(e) = self.write(&body) {
                            self.log.fatal(format_args!("{} writing message to disk: {e}", self.tc()));
                        }
                        if let Err(e) = self.write(b"\n") {
                            self.log.fatal(format_args!("{} writing newline to disk: {e}", self.tc()));
                        }
                        pending.push(m);
                        if pending.len() >= max {
                            sync = true;
                        }
                    }
                },
            }
            if (sync || self.consumer.is_starved()) && !pending.is_empty() {
                self.log.log(
                    LogLevel::Info,
                    format_args!("{} syncing {} records to disk", self.tc(), pending.len()),
                );
                if let Err(e) = self.sync() {
                    self.log
                        .fatal(format_args!("{} failed syncing messages: {e}", self.tc()));
                }
                while let Some(m) = pending.pop() {
                    m.finish();
                }
            }
            if close_file {
                self.close();
            }
            if exit {
                break;
            }
        }
    }

    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let Some(out) = self.out.as_mut() else {
            return Err(io::Error::other("no file open"));
        };
        let n = tokio::task::block_in_place(|| out.write(b))?;
        self.filesize += n as i64;
        Ok(n)
    }

    fn sync(&mut self) -> io::Result<()> {
        match self.out.as_mut() {
            Some(out) => tokio::task::block_in_place(|| out.sync()),
            None => Ok(()),
        }
    }

    fn current_filename(&self) -> String {
        let datetime = strftime(&self.opts.datetime_format, &LocalTime::now());
        self.filename_format.replace("<DATETIME>", &datetime)
    }

    fn needs_rotation(&self) -> bool {
        let Some(out) = self.out.as_ref() else {
            return true;
        };
        let filename = self.current_filename();
        if filename != self.filename {
            self.log.log(
                LogLevel::Info,
                format_args!("{} new filename {filename}, rotating...", self.tc()),
            );
            return true;
        }
        if !self.opts.rotate_interval.is_zero() {
            let s = self.open_time.elapsed();
            if s > self.opts.rotate_interval {
                self.log.log(
                    LogLevel::Info,
                    format_args!(
                        "{} {} since last open, rotating...",
                        self.tc(),
                        nsq_cli::format_go_duration(s)
                    ),
                );
                return true;
            }
        }
        if self.opts.rotate_size > 0 && self.filesize > self.opts.rotate_size {
            self.log.log(
                LogLevel::Info,
                format_args!(
                    "{} {} currently {} bytes (> {}), rotating...",
                    self.tc(),
                    out.path,
                    self.filesize,
                    self.opts.rotate_size
                ),
            );
            return true;
        }
        false
    }

    fn close(&mut self) {
        let Some(out) = self.out.take() else {
            return;
        };
        let src = out.path.clone();
        let tc = self.tc();
        tokio::task::block_in_place(|| {
            match out.close() {
                Ok(()) => {}
                Err(CloseError::Gzip(e)) => self
                    .log
                    .fatal(format_args!("{tc} failed to close GZIP writer: {e}")),
                Err(CloseError::Sync(e)) => self
                    .log
                    .fatal(format_args!("{tc} failed to fsync output file: {e}")),
            }
            let o = &self.opts;
            if o.work_dir == o.output_dir {
                return;
            }
            let dst = join(&[&o.output_dir, src.strip_prefix(&o.work_dir).unwrap_or(&src)]);
            self.log.log(
                LogLevel::Info,
                format_args!("{tc} moving finished file {src} to {dst}"),
            );
            match exclusive_rename(&src, &dst) {
                Ok(()) => return,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => self.log.fatal(format_args!(
                    "{tc} unable to move file from {src} to {dst}: {}",
                    go_path_error("link", &src, &dst, &e)
                )),
            }
            let (_, template) = split(&self.filename);
            let (dst_dir, _) = split(&dst);
            let dst_template = join(&[dst_dir, template]);
            let mut i = self.rev + 1;
            loop {
                self.log.log(
                    LogLevel::Warn,
                    format_args!("{tc} destination file already exists: {dst}"),
                );
                let next = dst_template.replace("<REV>", &rev_text(i));
                match exclusive_rename(&src, &next) {
                    Ok(()) => {
                        self.log.log(
                            LogLevel::Info,
                            format_args!(
                                "{tc} renamed finished file {src} to {next} to avoid overwrite"
                            ),
                        );
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => i += 1,
                    Err(e) => self.log.fatal(format_args!(
                        "{tc} unable to rename file from {src} to {next}: {}",
                        go_path_error("link", &src, &next, &e)
                    )),
                }
            }
        });
    }

    fn update_file(&mut self) {
        self.close();
        let filename = self.current_filename();
        if filename != self.filename {
            self.rev = 0;
        } else {
            self.rev += 1;
        }
        self.filename = filename;
        self.open_time = Instant::now();
        let tc = self.tc();
        let o = self.opts.clone();
        let full = join(&[&o.work_dir, &self.filename]);
        tokio::task::block_in_place(|| {
            if let Err(e) = make_dir_for(&full) {
                self.log.fatal(format_args!(
                    "{tc} unable to create dir: {}",
                    mkdir_error(&full, &e)
                ));
            }
            loop {
                let abs = full.replace("<REV>", &rev_text(self.rev));
                if o.work_dir != o.output_dir {
                    let out_name =
                        join(&[&o.output_dir, abs.strip_prefix(&o.work_dir).unwrap_or(&abs)]);
                    if let Err(e) = make_dir_for(&out_name) {
                        self.log.fatal(format_args!(
                            "{tc} unable to create dir: {}",
                            mkdir_error(&out_name, &e)
                        ));
                    }
                    match std::fs::metadata(&out_name) {
                        Ok(_) => {
                            self.log.log(
                                LogLevel::Warn,
                                format_args!("{tc} output file already exists: {out_name}"),
                            );
                            self.rev += 1;
                            continue;
                        }
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => self.log.fatal(format_args!(
                            "{tc} unable to stat output file {out_name}: stat {out_name}: {}",
                            nsq_http::listen::go_errno_text(&e)
                        )),
                    }
                }
                let mut oo = OpenOptions::new();
                oo.write(true).create(true).mode(0o666);
                if o.gzip || !o.rotate_interval.is_zero() {
                    oo.create_new(true);
                } else {
                    oo.append(true);
                }
                let file = match oo.open(&abs) {
                    Ok(f) => f,
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        self.log.log(
                            LogLevel::Warn,
                            format_args!("{tc} working file already exists: {abs}"),
                        );
                        self.rev += 1;
                        continue;
                    }
                    Err(e) => self.log.fatal(format_args!(
                        "{tc} unable to open {abs}: open {abs}: {}",
                        nsq_http::listen::go_errno_text(&e)
                    )),
                };
                self.log
                    .log(LogLevel::Info, format_args!("{tc} opening {abs}"));
                let size = match file.metadata() {
                    Ok(m) => m.len() as i64,
                    Err(e) => self.log.fatal(format_args!(
                        "{tc} unable to stat file {abs}: {}",
                        nsq_http::listen::go_errno_text(&e)
                    )),
                };
                self.filesize = size;
                if o.rotate_size > 0 && size > o.rotate_size {
                    self.log.log(
                        LogLevel::Info,
                        format_args!(
                            "{tc} {abs} currently {size} bytes (> {}), rotating...",
                            o.rotate_size
                        ),
                    );
                    self.rev += 1;
                    continue;
                }
                let level = o.gzip.then_some(o.gzip_level as u32);
                self.out = Some(Output::new(abs, file, level));
                break;
            }
        });
    }
}

/// Go's `*os.LinkError` text: `link <src> <dst>: <errno text>`.
fn go_path_error(op: &str, src: &str, dst: &str, e: &io::Error) -> String {
    format!("{op} {src} {dst}: {}", nsq_http::listen::go_errno_text(e))
}

/// Go's `MkdirAll` failure text (`mkdir <dir>: <errno text>`).
fn mkdir_error(path: &str, e: &io::Error) -> String {
    let (dir, _) = split(path);
    format!(
        "mkdir {}: {}",
        dir.trim_end_matches('/'),
        nsq_http::listen::go_errno_text(e)
    )
}
