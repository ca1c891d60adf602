//! The lookup protocol "V1" that nsqd speaks to nsqlookupd over TCP, after the `"  V1"`
//! magic.
//!
//! Requests are text lines (`TrimSpace`d, then split on single spaces); only IDENTIFY has
//! a body (`[int32 BE size][JSON]`). Responses are `[int32 BE size][payload]` with no frame
//! type. Every error is fatal: the error text is sent, then the connection closes. The
//! commands are PING, IDENTIFY, REGISTER and UNREGISTER, with the reference's check order
//! and error texts (see the lookupd spec §1.2). Unlike the reference, a negative or
//! oversized IDENTIFY body size is an `E_BAD_BODY` error rather than a crash or a huge
//! allocation, and a line longer than [`MAX_LINE_LEN`] closes the connection.

use std::fmt;
use std::sync::Arc;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use nsq_protocol::names::{is_ephemeral, is_valid_name};

use crate::db::{Category, Moment, PeerInfo, Registration, RegistrationDb};
use crate::identify::IdentifyBody;
use crate::state::State;

/// Longest request line accepted (the reference has no limit); longer closes the connection.
pub const MAX_LINE_LEN: usize = 1024 * 1024;
/// Largest IDENTIFY body accepted (nsqd's default `--max-body-size`; real bodies are a few
/// hundred bytes).
pub const MAX_IDENTIFY_BODY: i32 = 5 * 1024 * 1024;

/// One V1 connection's protocol state.
///
/// Invariant: `peer` is set at most once, by a successful IDENTIFY, and its id is `remote`.
#[derive(Debug)]
pub struct Client {
    /// The connection's remote `ip:port`: its peer id.
    pub remote: String,
    /// Set once the connection has identified.
    pub peer: Option<Arc<PeerInfo>>,
}

impl Client {
    /// A new, unidentified client.
    pub fn new(remote: String) -> Client {
        Client { remote, peer: None }
    }
}

/// Why a connection's command loop ended.
#[derive(Debug)]
pub enum Exit {
    /// The peer closed the connection (possibly mid-line).
    Eof,
    /// Reading or writing failed.
    Io(std::io::Error),
    /// A fatal protocol error; its text was sent (or sending it failed).
    Fatal(Vec<u8>),
    /// A request line exceeded [`MAX_LINE_LEN`].
    LineTooLong,
    /// The server is shutting down.
    Shutdown,
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exit::Eof => f.write_str("EOF"),
            Exit::Io(e) => write!(f, "{e}"),
            Exit::Fatal(text) => f.write_str(&String::from_utf8_lossy(text)),
            Exit::LineTooLong => write!(f, "line longer than {MAX_LINE_LEN} bytes"),
            Exit::Shutdown => f.write_str("use of closed network connection"),
        }
    }
}

/// A command's outcome: a payload to send, or a fatal error text (and its cause, for the
/// log only).
enum Outcome {
    Reply(Vec<u8>),
    Fatal(Vec<u8>, Option<String>),
}

fn fatal(code: &str, desc: &[u8]) -> Outcome {
    let mut text = Vec::with_capacity(code.len() + 1 + desc.len());
    text.extend_from_slice(code.as_bytes());
    text.push(b' ');
    text.extend_from_slice(desc);
    Outcome::Fatal(text, None)
}

/// A fatal error whose underlying cause is logged (as ` - <cause>`) but not sent.
fn fatal_because(code: &str, desc: &[u8], cause: impl fmt::Display) -> Outcome {
    match fatal(code, desc) {
        Outcome::Fatal(text, _) => Outcome::Fatal(text, Some(cause.to_string())),
        o => o,
    }
}

/// Writes one `[int32 BE size][payload]` response.
pub async fn send_response<W: AsyncWrite + Unpin>(
    w: &mut W,
    payload: &[u8],
) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(4 + payload.len());
    // Payloads are bounded far below 2 GiB (lines ≤ 1 MiB, fixed replies).
    buf.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    buf.extend_from_slice(payload);
    w.write_all(&buf).await?;
    w.flush().await
}

/// Go's `strings.TrimSpace` on raw bytes: strips leading and trailing Unicode white space
/// (ASCII `\t\n\v\f\r ` and, when validly encoded, U+0085, U+00A0, U+2000.., ...).
pub fn trim_space(mut b: &[u8]) -> &[u8] {
    while let Some((c, n)) = first_char(b) {
        if !c.is_whitespace() {
            break;
        }
        b = &b[n..];
    }
    while let Some((c, n)) = last_char(b) {
        if !c.is_whitespace() {
            break;
        }
        b = &b[..b.len() - n];
    }
    b
}

fn first_char(b: &[u8]) -> Option<(char, usize)> {
    let lead = *b.first()?;
    let n = match lead {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => return Some(('\u{FFFD}', 1)),
    };
    match b.get(..n).and_then(|s| std::str::from_utf8(s).ok()) {
        Some(s) => s.chars().next().map(|c| (c, n)),
        None => Some(('\u{FFFD}', 1)),
    }
}

fn last_char(b: &[u8]) -> Option<(char, usize)> {
    if b.is_empty() {
        return None;
    }
    for n in 1..=b.len().min(4) {
        let start = b.len() - n;
        if let Ok(s) = std::str::from_utf8(&b[start..]) {
            return s.chars().next().map(|c| (c, n));
        }
    }
    Some(('\u{FFFD}', 1))
}

/// Reads one `\n`-terminated line (terminator included). `Ok(None)` at EOF, including EOF
/// in the middle of a line (the reference drops such a partial command too).
async fn read_line<R: AsyncBufRead + Unpin>(r: &mut R) -> Result<Option<Vec<u8>>, Exit> {
    let mut line = Vec::new();
    let n = (&mut *r)
        .take(MAX_LINE_LEN as u64 + 1)
        .read_until(b'\n', &mut line)
        .await
        .map_err(Exit::Io)?;
    if line.last() == Some(&b'\n') {
        return Ok(Some(line));
    }
    if n > MAX_LINE_LEN {
        return Err(Exit::LineTooLong);
    }
    Ok(None)
}

/// Runs the command loop for an identified-or-not `client` until the peer leaves, an IO
/// error occurs or a command fails (then the error text is sent first). Registrations made
/// here are *not* cleaned up; call [`unregister_all`] afterwards.
pub async fn io_loop<R, W>(state: &State, client: &mut Client, r: &mut R, w: &mut W) -> Exit
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    loop {
        let line = match read_line(r).await {
            Ok(Some(l)) => l,
            Ok(None) => return Exit::Eof,
            Err(e) => return e,
        };
        let line = trim_space(&line);
        let params: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
        match exec(state, client, r, &params).await {
            Outcome::Reply(payload) => {
                if let Err(e) = send_response(w, &payload).await {
                    return Exit::Io(e);
                }
            }
            Outcome::Fatal(text, parent) => {
                let ctx = parent.map(|p| format!(" - {p}")).unwrap_or_default();
                tracing::error!(
                    "[{}] - {}{}",
                    client.remote,
                    String::from_utf8_lossy(&text),
                    ctx
                );
                if let Err(e) = send_response(w, &text).await {
                    tracing::error!("[{}] - {}{}", client.remote, e, ctx);
                }
                return Exit::Fatal(text);
            }
        }
    }
}

async fn exec<R: AsyncBufRead + Unpin>(
    state: &State,
    client: &mut Client,
    r: &mut R,
    params: &[&[u8]],
) -> Outcome {
    let cmd = params.first().copied().unwrap_or_default();
    let args = params.get(1..).unwrap_or_default();
    match cmd {
        b"PING" => ping(client),
        b"IDENTIFY" => identify(state, client, r).await,
        b"REGISTER" => register(&state.db, client, args),
        b"UNREGISTER" => unregister(&state.db, client, args),
        _ => fatal("E_INVALID", &[b"invalid command ", cmd].concat()),
    }
}

fn ping(client: &Client) -> Outcome {
    if let Some(peer) = &client.peer {
        let now = Moment::now().unix_nanos;
        let prev = peer.touch(now);
        tracing::info!(
            "CLIENT({}): pinged (last ping {})",
            peer.id,
            nsq_cli::format_go_duration_nanos(now.saturating_sub(prev))
        );
    }
    Outcome::Reply(b"OK".to_vec())
}

async fn identify<R: AsyncBufRead + Unpin>(
    state: &State,
    client: &mut Client,
    r: &mut R,
) -> Outcome {
    if client.peer.is_some() {
        return fatal("E_INVALID", b"cannot IDENTIFY again");
    }
    let mut size = [0u8; 4];
    if let Err(e) = r.read_exact(&mut size).await {
        return fatal_because("E_BAD_BODY", b"IDENTIFY failed to read body size", e);
    }
    let size = i32::from_be_bytes(size);
    if size < 0 {
        return fatal(
            "E_BAD_BODY",
            format!("IDENTIFY invalid body size {size}").as_bytes(),
        );
    }
    if size > MAX_IDENTIFY_BODY {
        return fatal(
            "E_BAD_BODY",
            format!("IDENTIFY body too big {size} > {MAX_IDENTIFY_BODY}").as_bytes(),
        );
    }
    // Grows with the bytes actually received, so a claimed size costs nothing up front.
    let mut body = Vec::new();
    let read = (&mut *r).take(size as u64).read_to_end(&mut body).await;
    match read {
        Err(e) => return fatal_because("E_BAD_BODY", b"IDENTIFY failed to read body", e),
        Ok(n) if n != size as usize => {
            return fatal_because(
                "E_BAD_BODY",
                b"IDENTIFY failed to read body",
                "unexpected EOF",
            )
        }
        Ok(_) => {}
    }
    let decoded = match IdentifyBody::decode(&body) {
        Ok(b) => b,
        Err(e) => return fatal_because("E_BAD_BODY", b"IDENTIFY failed to decode JSON body", e),
    };
    if !decoded.has_required_fields() {
        return fatal("E_BAD_BODY", b"IDENTIFY missing fields");
    }
    let peer = Arc::new(PeerInfo::new(
        client.remote.clone(),
        decoded.hostname,
        decoded.broadcast_address,
        decoded.tcp_port,
        decoded.http_port,
        decoded.version,
        decoded.topology_zone,
        decoded.topology_region,
        Moment::now().unix_nanos,
    ));
    tracing::info!(
        "CLIENT({}): IDENTIFY Address:{} TCP:{} HTTP:{} Version:{}",
        client.remote,
        peer.broadcast_address,
        peer.tcp_port,
        peer.http_port,
        peer.version
    );
    if state.db.add_producer(&Registration::client(), &peer) {
        tracing::info!(
            "DB: client({}) REGISTER category:client key: subkey:",
            client.remote
        );
    }
    client.peer = Some(peer);
    Outcome::Reply(state.identify_reply.clone())
}

/// The (topic, channel) arguments of REGISTER/UNREGISTER, validated in the reference's
/// order. The channel is `""` when absent.
fn topic_channel(cmd: &str, args: &[&[u8]]) -> Result<(String, String), Outcome> {
    let Some(topic) = args.first() else {
        return Err(fatal(
            "E_INVALID",
            format!("{cmd} insufficient number of params").as_bytes(),
        ));
    };
    let channel = args.get(1).copied().unwrap_or_default();
    if !is_valid_name(topic) {
        let desc = [
            format!("{cmd} topic name '").as_bytes(),
            topic,
            b"' is not valid",
        ]
        .concat();
        return Err(fatal("E_BAD_TOPIC", &desc));
    }
    if !channel.is_empty() && !is_valid_name(channel) {
        let desc = [
            format!("{cmd} channel name '").as_bytes(),
            channel,
            b"' is not valid",
        ]
        .concat();
        return Err(fatal("E_BAD_CHANNEL", &desc));
    }
    // Valid names are ASCII.
    Ok((
        String::from_utf8_lossy(topic).into_owned(),
        String::from_utf8_lossy(channel).into_owned(),
    ))
}

fn log_db(verb: &str, client: &Client, key: &Registration) {
    tracing::info!(
        "DB: client({}) {verb} category:{} key:{} subkey:{}",
        client.remote,
        key.category.as_str(),
        key.key,
        key.subkey
    );
}

fn register(db: &RegistrationDb, client: &Client, args: &[&[u8]]) -> Outcome {
    let Some(peer) = &client.peer else {
        return fatal("E_INVALID", b"client must IDENTIFY");
    };
    let (topic, channel) = match topic_channel("REGISTER", args) {
        Ok(tc) => tc,
        Err(o) => return o,
    };
    if !channel.is_empty() {
        let key = Registration::channel(&topic, &channel);
        if db.add_producer(&key, peer) {
            log_db("REGISTER", client, &key);
        }
    }
    let key = Registration::topic(&topic);
    if db.add_producer(&key, peer) {
        log_db("REGISTER", client, &key);
    }
    Outcome::Reply(b"OK".to_vec())
}

fn unregister(db: &RegistrationDb, client: &Client, args: &[&[u8]]) -> Outcome {
    let Some(peer) = &client.peer else {
        return fatal("E_INVALID", b"client must IDENTIFY");
    };
    let (topic, channel) = match topic_channel("UNREGISTER", args) {
        Ok(tc) => tc,
        Err(o) => return o,
    };
    if !channel.is_empty() {
        let key = Registration::channel(&topic, &channel);
        let (removed, left) = db.remove_producer(&key, &peer.id);
        if removed {
            log_db("UNREGISTER", client, &key);
        }
        if left == 0 && is_ephemeral(&channel) {
            db.remove_registration(&key);
        }
    } else {
        // A topic unregistration (the topic was deleted on that nsqd): drop the producer
        // from the topic's channels too, which nsqd normally did already.
        for key in db.find_registrations(Category::Channel, &topic, "*") {
            if db.remove_producer(&key, &peer.id).0 {
                tracing::warn!(
                    "client({}) unexpected UNREGISTER category:channel key:{} subkey:{}",
                    client.remote,
                    topic,
                    key.subkey
                );
            }
        }
        let key = Registration::topic(&topic);
        let (removed, left) = db.remove_producer(&key, &peer.id);
        if removed {
            log_db("UNREGISTER", client, &key);
        }
        if left == 0 && is_ephemeral(&topic) {
            db.remove_registration(&key);
        }
    }
    Outcome::Reply(b"OK".to_vec())
}

/// Removes the client's peer from every registration, as happens when its connection
/// closes for any reason. Registrations themselves stay, even ephemeral ones.
pub fn unregister_all(db: &RegistrationDb, client: &Client) {
    let Some(peer) = &client.peer else { return };
    for key in db.lookup_registrations(&peer.id) {
        if db.remove_producer(&key, &peer.id).0 {
            log_db("UNREGISTER", client, &key);
        }
    }
}

#[cfg(test)]
#[path = "protocol_tests.rs"]
mod tests;
