//! Process plumbing shared by the utilities: Go `flag` parsing with the default
//! command-line flag set's name, `log.Fatal`, go-nsq option flags, signals and the runtime.
//!
//! Go's default flag set is named after `os.Args[0]`, so `--help` and flag errors print
//! `Usage of <argv[0]>:`; validation failures use Go's standard logger
//! (`2006/01/02 15:04:05 <msg>`, exit status 1). Every tool behaves that way, so the rules
//! live here once.

use std::future::Future;

use nsq_cli::{FlagKind, FlagSet, FlagSpec, ParsedArgs, Value, Values};

use crate::gonsq::Config;

/// The name Go's default flag set carries: the program path as invoked.
pub fn program_name(fallback: &str) -> String {
    std::env::args_os()
        .next()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_else(|| fallback.to_string())
}

/// Go's `log.Fatal`: `<date> <time> <msg>` on stderr, exit status 1.
pub fn fatal(msg: impl std::fmt::Display) -> ! {
    nsq_cli::logging::std_fatal(msg)
}

/// What a Go program does when writing to a closed stdout pipe: it dies of SIGPIPE
/// (Rust ignores SIGPIPE, so the default action is restored and the signal raised).
pub fn die_of_sigpipe() -> ! {
    // SAFETY: restoring the default disposition and raising a signal on this process has
    // no memory-safety preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::raise(libc::SIGPIPE);
    }
    std::process::exit(141)
}

/// Writes `data` to stdout and flushes; a closed pipe ends the process like Go
/// ([`die_of_sigpipe`]), other errors are returned.
pub fn write_stdout(data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(data).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => die_of_sigpipe(),
        r => r,
    }
}

/// Go's `log.Printf`: `<date> <time> <msg>` on stderr.
pub fn log(msg: impl std::fmt::Display) {
    nsq_cli::logging::std_log(msg)
}

/// Parses this process's arguments with Go `flag` semantics (exit 0 on `-h`, exit 2 with
/// usage on an error) and resolves every flag's value (no config file).
pub fn parse(set: &FlagSet) -> (ParsedArgs, Values) {
    let args = set.parse_env_or_exit();
    resolve(set, args)
}

/// [`parse`] for given arguments (tests and wrappers).
pub fn parse_from(set: &FlagSet, argv: Vec<String>) -> (ParsedArgs, Values) {
    let args = set.parse_or_exit(argv);
    resolve(set, args)
}

fn resolve(set: &FlagSet, args: ParsedArgs) -> (ParsedArgs, Values) {
    match nsq_cli::resolve(set, &args, None) {
        Ok(v) => (args, v),
        Err(e) => fatal(e),
    }
}

/// Applies `--consumer-opt` / `--producer-opt` values to a go-nsq config the way Go's
/// `flag.Var(&nsq.ConfigFlag{cfg}, ...)` does during parsing: an invalid option prints
/// `invalid value "<v>" for flag -<flag>: <go-nsq error>` and the usage, and exits 2.
pub fn apply_config_flags(set: &FlagSet, flag: &str, values: &[String], cfg: &mut Config) {
    for v in values {
        if let Err(e) = cfg.set_flag(v) {
            eprint!(
                "invalid value {} for flag -{flag}: {e}\n{}",
                nsq_cli::strconv::quote(v),
                set.usage()
            );
            std::process::exit(2);
        }
    }
}

/// A repeatable string flag (Go NSQ's `app.StringArray`).
pub fn str_list(name: &'static str, usage: &'static str) -> FlagSpec {
    FlagSpec::new(name, FlagKind::StrList, Value::StrList(Vec::new()), usage).no_cfg()
}

/// A string flag.
pub fn string(name: &'static str, default: &str, usage: &'static str) -> FlagSpec {
    FlagSpec::new(name, FlagKind::Str, Value::Str(default.to_string()), usage).no_cfg()
}

/// A bool flag.
pub fn boolean(name: &'static str, default: bool, usage: &'static str) -> FlagSpec {
    FlagSpec::new(name, FlagKind::Bool, Value::Bool(default), usage).no_cfg()
}

/// An int flag (`strconv.ParseInt(s, 0, 64)` syntax).
pub fn int(name: &'static str, default: i64, usage: &'static str) -> FlagSpec {
    FlagSpec::new(name, FlagKind::Int, Value::Int(default), usage).no_cfg()
}

/// A float flag.
pub fn float(name: &'static str, default: f64, usage: &'static str) -> FlagSpec {
    FlagSpec::new(name, FlagKind::Float, Value::Float(default), usage).no_cfg()
}

/// A duration flag.
pub fn duration(name: &'static str, default: std::time::Duration, usage: &'static str) -> FlagSpec {
    FlagSpec::new(name, FlagKind::Duration, Value::Duration(default), usage).no_cfg()
}

/// Runs `main` on a multi-threaded tokio runtime and returns its result.
pub fn run<F: Future>(main: F) -> F::Output {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(main),
        Err(e) => fatal(format!("failed to start the runtime - {e}")),
    }
}

/// Which signals a tool reacts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sig {
    /// SIGINT.
    Int,
    /// SIGTERM.
    Term,
    /// SIGHUP.
    Hup,
}

/// A set of installed signal handlers (go's `signal.Notify`).
#[derive(Debug)]
pub struct Signals {
    streams: Vec<(Sig, tokio::signal::unix::Signal)>,
}

impl Signals {
    /// Installs handlers for `sigs` (must run inside the runtime).
    pub fn new(sigs: &[Sig]) -> Signals {
        use tokio::signal::unix::{signal, SignalKind};
        let mut streams = Vec::new();
        for &s in sigs {
            let kind = match s {
                Sig::Int => SignalKind::interrupt(),
                Sig::Term => SignalKind::terminate(),
                Sig::Hup => SignalKind::hangup(),
            };
            match signal(kind) {
                Ok(st) => streams.push((s, st)),
                Err(e) => fatal(format!("failed to install a signal handler - {e}")),
            }
        }
        Signals { streams }
    }

    /// Waits for the next signal of the set.
    pub async fn recv(&mut self) -> Sig {
        if self.streams.is_empty() {
            return std::future::pending().await;
        }
        std::future::poll_fn(|cx| {
            for (s, st) in self.streams.iter_mut() {
                if st.poll_recv(cx).is_ready() {
                    return std::task::Poll::Ready(*s);
                }
            }
            std::task::Poll::Pending
        })
        .await
    }
}
